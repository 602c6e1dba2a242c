"""The `nabij` command for lecturers and IT staff."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from app.config import ConfigError, get_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Nabij: run the platform, check course modules and manage accounts and classes."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option("--reload", is_flag=True, help="Restart when code, templates or modules change (for authors and developers).")
@click.option("--workers", default=1, show_default=True, help="Number of worker processes.")
def serve(host: str, port: int, reload: bool, workers: int) -> None:
    """Serve the web application."""
    import uvicorn

    from app.migrations import ensure_current

    settings = get_settings()
    _or_exit(settings.secret)
    _or_exit(lambda: ensure_current(settings))
    options: dict = {"host": host, "port": port, "proxy_headers": True, "log_level": "info"}
    if reload:
        from app import PROJECT_ROOT

        options.update(
            reload=True,
            reload_dirs=[str(PROJECT_ROOT / "app"), str(PROJECT_ROOT / "templates"), str(settings.modules_dir)],
            reload_includes=["*.py", "*.html", "*.md", "*.yml", "*.yaml"],
        )
    elif workers > 1:
        options["workers"] = workers
    uvicorn.run("app.main:create_app", factory=True, **options)


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run repeatedly)."""
    from app.migrations import upgrade

    settings = get_settings()
    _or_exit(lambda: upgrade(settings))
    click.echo("database is up to date")


@main.command()
@click.argument("message")
def makemigration(message: str) -> None:
    """For developers: write a new migration from the changes in app/models.py (review it!)."""
    from alembic import command

    from app.migrations import alembic_config

    command.revision(alembic_config(get_settings()), message=message, autogenerate=True)


@main.group()
def modules() -> None:
    """Work with course modules."""


@modules.command("check")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary instead of lines.")
def modules_check(directory: Path | None, as_json: bool) -> None:
    """Check every module in DIRECTORY (default: the modules folder) and report each problem.

    Each problem is printed as `path:line: message`. The exit status is 1 when there is any problem.
    """
    from app.content.catalogue import module_files
    from app.content.checking import check_directory

    directory = directory or get_settings().modules_dir
    if not directory.exists():
        click.echo(f"{directory}: map bestaat niet", err=True)
        sys.exit(2)
    report = check_directory(directory)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for error in report["errors"]:
            click.echo(f"{error['path']}:{error['line']}: {error['message']}")
        count = len(module_files(directory))
        summary = f"{count} module(s) gecontroleerd, {len(report['errors'])} probleem/problemen"
        click.echo(summary, err=True)
    sys.exit(1 if report["errors"] else 0)


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["student", "lecturer", "admin"]), required=True, help="The account's role.")
@click.option("--name", required=True, help="Display name, e.g. \"An Peeters\".")
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
    _or_exit(lambda: _ensure_schema(settings, engine))
    try:
        with Session(engine) as session:
            created = create_user(session, email=email, display_name=name, role=role, password=password)
            click.echo(created.id)
    except AccountError as error:
        click.echo(f"error: {error.field}: {error.message}", err=True)
        sys.exit(1)
    finally:
        engine.dispose()


def _ensure_schema(settings, engine) -> None:
    from app.migrations import ensure_current

    ensure_current(settings, engine)


@main.command()
def demo() -> None:
    """Load demo accounts, a class and assignments into an empty database."""
    from app.demo import load_demo

    settings = get_settings()
    _or_exit(settings.secret)
    accounts = _or_exit(lambda: load_demo(settings))
    if accounts is None:
        click.echo("the database already has (non-demo) users; demo data was not loaded")
        return
    click.echo("Demo accounts (log in at http://127.0.0.1:8000/login):")
    for account in accounts:
        click.echo(f"  {account}")


def _or_exit(action):
    try:
        return action()
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
