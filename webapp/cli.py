"""Flask commands: orgs, api-keys, members, demo."""

from __future__ import annotations

import re

import click
from flask import Flask
from sqlalchemy import func, select

from webapp.auth.credentials import API_KEY_PREFIX, make_secret
from webapp.domain.ids import is_org_id, new_org_id
from webapp.extensions import db
from webapp.models import ApiKey, Membership, Organisation, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


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
@click.option("--name", default="", help="A label to recognise the key by")
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


def create_api_key(org_id: str, name: str = "", created_by_id: str | None = None) -> str:
    """Create an API key and return the secret (only its hash is stored)."""
    if db.session.get(Organisation, org_id) is None:
        raise click.BadParameter(f"no organisation {org_id}", param_hint="--org")
    if len(name) > 200:
        raise click.BadParameter("must be at most 200 characters", param_hint="--name")
    new = make_secret(API_KEY_PREFIX)
    db.session.add(
        ApiKey(
            org_id=org_id,
            name=name,
            prefix=new.prefix,
            last4=new.last4,
            key_hash=new.digest,
            created_by_id=created_by_id,
        )
    )
    db.session.commit()
    return new.secret


def add_member(email: str, org_id: str, role: str = "member") -> Membership:
    """Give the user with this email a role in an organisation, creating the user if needed."""
    if db.session.get(Organisation, org_id) is None:
        raise click.BadParameter(f"no organisation {org_id}", param_hint="--org")
    email = email.strip().lower()
    if not EMAIL_RE.fullmatch(email):
        raise click.BadParameter(f"{email!r} is not an email address", param_hint="EMAIL")
    # Sign-in may have stored the address with capitals; match it whatever its case.
    user = (
        db.session.execute(select(User).where(func.lower(User.email) == email).order_by(User.created_at))
        .scalars()
        .first()
    )
    if user is None:
        user = User(email=email)
        db.session.add(user)
        db.session.flush()
    membership = db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.org_id == org_id)
    ).scalar_one_or_none()
    if membership is None:
        membership = Membership(user_id=user.id, org_id=org_id, role=role)
        db.session.add(membership)
    membership.role = role
    db.session.commit()
    return membership
