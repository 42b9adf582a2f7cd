"""Flask commands: orgs, api-keys, members, demo."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask

from webapp.domain.errors import ApiError
from webapp.domain.ids import is_org_id, new_org_id
from webapp.extensions import db
from webapp.models import Membership, Organisation
from webapp.services import accounts


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(orgs)
    app.cli.add_command(api_keys)
    app.cli.add_command(members)
    from webapp.demo import demo

    app.cli.add_command(demo)
    from webapp.runner.worker import worker

    app.cli.add_command(worker)


@click.group()
def orgs() -> None:
    """Manage organisations."""


@orgs.command("create")
@click.argument("name")
@click.option("--id", "org_id", help="org_ followed by 16 or more letters and digits")
def orgs_create(name: str, org_id: str | None) -> None:
    """Create an organisation and print its id."""
    click.echo(create_org(name, org_id))


@click.group("api-keys")
def api_keys() -> None:
    """Manage API keys."""


@api_keys.command("create")
@click.option("--org", "org_id", required=True)
@click.option("--name", default="cli", show_default=True, help="A label to recognise the key by")
def api_keys_create(org_id: str, name: str) -> None:
    """Create an API key for an organisation and print it, once."""
    click.echo(create_api_key(org_id, name))


@click.group()
def members() -> None:
    """Manage organisation members."""


@members.command("add")
@click.argument("email")
@click.option("--org", "org_id", required=True)
@click.option("--role", type=click.Choice(["admin", "member"]), default="member", show_default=True)
def members_add(email: str, org_id: str, role: str) -> None:
    """Grant a user (who may not have signed in yet) access to an organisation."""
    add_member(email, org_id, role)
    click.echo(f"{email} is now {role} of {org_id}")


def create_org(name: str, org_id: str | None = None) -> str:
    """Create an organisation and return its id."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise click.BadParameter("must be 1 to 200 characters", param_hint="NAME")
    if org_id is not None and not is_org_id(org_id):
        raise click.BadParameter("must be org_ followed by 16 or more letters and digits", param_hint="--id")
    if org_id is not None and db.session.get(Organisation, org_id) is not None:
        raise click.BadParameter(f"{org_id} already exists", param_hint="--id")
    org = Organisation(id=org_id or new_org_id(), name=name)
    db.session.add(org)
    db.session.commit()
    return org.id


def create_api_key(org_id: str, name: str = "cli", created_by_id: str | None = None) -> str:
    """Create an API key and return the secret (only its hash is stored)."""
    _require_org(org_id)
    with _as_click_error("--name"):
        _, new = accounts.create_api_key(org_id, name, created_by_id)
    db.session.commit()
    return new.secret


def add_member(email: str, org_id: str, role: str = "member") -> Membership:
    """Give the user with this email a role in an organisation, under the settings pages' rules."""
    _require_org(org_id)
    with _as_click_error("EMAIL"):
        membership = accounts.add_member(org_id, email, role)
    db.session.commit()
    return membership


def _require_org(org_id: str) -> None:
    if db.session.get(Organisation, org_id) is None:
        raise click.BadParameter(f"no organisation {org_id}", param_hint="--org")


@contextmanager
def _as_click_error(hint: str) -> Iterator[None]:
    # The services speak HTTP-ish errors; on the command line they become usage errors, nothing written.
    try:
        yield
    except ApiError as err:
        db.session.rollback()
        if err.status == 409:
            raise click.ClickException(str(err.detail)) from None
        raise click.BadParameter(str(err.detail), param_hint=hint) from None
