"""Identifier formats."""

from __future__ import annotations

import pytest

from webapp.domain.ids import canonical_uuid, is_org_id, is_uuid, new_org_id


def test_new_organisation_ids_have_the_contract_format_and_differ():
    made = {new_org_id() for _ in range(50)}

    assert len(made) == 50
    assert all(is_org_id(i) for i in made)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("org_u13TesTDumMyEe5P", True),
        ("org_" + "a" * 40, True),
        ("org_u13TesTDumMyEe5", False),  # 15 characters
        ("org_u13TesTDumMyEe5_", False),
        ("Org_u13TesTDumMyEe5P", False),
        ("org_u13TesTDumMyEe5P\n", False),
        ("", False),
    ],
)
def test_organisation_ids_are_org_and_16_or_more_letters_or_digits(value, ok):
    assert is_org_id(value) is ok


def test_uuids_are_canonical_lower_case_and_upper_case_ones_are_canonicalised():
    lower = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

    assert is_uuid(lower)
    assert not is_uuid(lower.upper())
    assert canonical_uuid(lower.upper()) == lower
    assert canonical_uuid("3c90c3cc0d444b5088888dd25736052a") is None
    assert canonical_uuid("{" + lower + "}") is None
    assert canonical_uuid("nope") is None
