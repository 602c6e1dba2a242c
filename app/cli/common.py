"""What every `nabij` command shares: one-line errors, the schema check, lookups by address and id."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import click

from app.config import ConfigError, get_settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.models import User


def ensure_schema(settings, engine) -> None:
    from app.migrations import ensure_current

    ensure_current(settings, engine)


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def or_exit(action):
    try:
        return action()
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@contextmanager
def account(email: str) -> Iterator[tuple[Session, User]]:
    """A writing session on the configured database and the account with this address, or one error line."""
    from sqlmodel import Session

    from app.db import make_engine, writer
    from app.services import accounts

    settings = get_settings()
    engine = make_engine(settings)
    try:
        or_exit(lambda: ensure_schema(settings, engine))
        with Session(writer(engine)) as session:
            found = accounts.find_by_email(session, email)
            if found is None:
                fail(f"no account with the address {email}")
            yield session, found
    finally:
        engine.dispose()


# -- classes and assignments, for IT staff and scripts -------------------------------------------


class CliError(Exception):
    """A one-line reason for `error: …` and exit status 1."""


def class_command(function):
    """Run a class command in English, with a database session; every failure is one line, never a traceback."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        from sqlalchemy.exc import SQLAlchemyError
        from sqlmodel import Session

        from app import i18n
        from app.db import make_engine
        from app.services.classes import ClassError

        token = i18n.current_locale.set("en")
        engine = None
        try:
            settings = get_settings()
            engine = make_engine(settings)
            ensure_schema(settings, engine)
            with Session(engine, expire_on_commit=False) as session:
                return function(settings, session, *args, **kwargs)
        except (ConfigError, CliError) as error:
            fail(str(error))
        except ClassError as error:
            fail(error.message)
        except SQLAlchemyError as error:
            fail(f"database: {str(error.orig if getattr(error, 'orig', None) else error).splitlines()[0]}")
        finally:
            i18n.current_locale.reset(token)
            if engine is not None:
                engine.dispose()

    return wrapper


def class_by_id(session, value: str):
    from app.forms import parse_int
    from app.models import CourseClass

    if parse_int(value.strip()) is None:
        raise CliError(f"CLASS must be a class id (the number `nabij class create` printed), not {value!r}.")
    course_class = session.get(CourseClass, parse_int(value.strip()))
    if course_class is None:
        raise CliError(f"there is no class with id {value}.")
    return course_class


def cli_date(value: str | None, option: str):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option} must be a date like 2026-10-01, not {value!r}.") from None
