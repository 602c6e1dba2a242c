"""Accounts: `nabij user create | erase | safeguarding-officer`."""

from __future__ import annotations

import sys

import click

from app.cli import main
from app.cli.common import (
    account,
    ensure_schema,
    fail,
    or_exit,
)
from app.config import get_settings
from app.models import stored_id


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["student", "lecturer", "admin"]), required=True, help="The account's role.")
@click.option("--name", required=True, help='Display name, e.g. "An Peeters".')
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
def user_create(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create an account and print its id.

    The password is asked for twice, or read from standard input with --password-stdin
    (for scripts: `printf '%s' "$PASSWORD" | nabij user create ...`).
    """
    from sqlmodel import Session

    from app.db import make_engine
    from app.services.accounts import AccountError, create_user

    settings = get_settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = make_engine(settings)
    or_exit(lambda: ensure_schema(settings, engine))
    try:
        with Session(engine) as session:
            created = create_user(session, email=email, display_name=name, role=role, password=password)
            click.echo(created.id)
    except AccountError as error:
        click.echo(f"error: {error.field}: {error.message}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()


@user.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def user_erase(email: str, yes: bool) -> None:
    """Erase an account and all its data at once (on request; app/services/erasure.py)."""
    from app.services import erasure

    with account(email) as (session, found):
        if not yes:
            click.confirm(f"Erase {found.email} and everything they wrote? This cannot be undone.", abort=True)
        erasure.erase_user(session, user_id=stored_id(found))
        click.echo(f"erased {found.email}")


@user.command("safeguarding-officer")
@click.argument("email")
@click.option("--off", is_flag=True, help="Take the role away again.")
def user_safeguarding_officer(email: str, off: bool) -> None:
    """Let a lecturer decide on requests to reveal an author for safeguarding (beside the admins).

    The officer approves or refuses; they never decide on a request of their own (app/services/break_glass.py)."""
    from app.services import break_glass

    with account(email) as (session, found):
        problem = break_glass.set_safeguarding_officer(session, user=found, on=not off)
        if problem:
            fail(problem)
        click.echo(f"{found.email} {'is no longer' if off else 'is now'} a safeguarding officer")
