"""The `nabij` command for lecturers and IT staff."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from app.config import ConfigError, get_settings
from app.models import stored_id

if TYPE_CHECKING:
    from sqlmodel import Session

    from app.models import User


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Nabij: run the platform, check course modules and manage accounts and classes."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
@click.option(
    "--reload", is_flag=True, help="Restart when code, templates or modules change (for authors and developers)."
)
@click.option("--workers", default=1, show_default=True, help="Number of worker processes.")
def serve(host: str, port: int, reload: bool, workers: int) -> None:
    """Serve the web application."""
    import uvicorn

    from app.migrations import ensure_current
    from app.observability import logging_config

    settings = get_settings()
    _or_exit(settings.secret)
    _or_exit(lambda: ensure_current(settings))
    _announce_base_url(settings, host, port)
    # One line per log record (app/observability.py). uvicorn's own access log stays off: it
    # would print raw URLs, password-reset tokens included; Nabij logs route templates instead.
    # proxy_headers off: Nabij reads X-Forwarded-For/-Proto itself, from NABIJ_TRUSTED_PROXIES only
    # (app/proxies.py); uvicorn's own handling would believe FORWARDED_ALLOW_IPS instead.
    options: dict = {
        "host": host,
        "port": port,
        "proxy_headers": False,
        "log_level": "info",
        "log_config": logging_config("INFO", settings.effective_log_format),
        "access_log": False,
    }
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
    from sqlalchemy.exc import SQLAlchemyError

    from app.db import make_engine
    from app.migrations import current_revision, head_revision, upgrade

    settings = get_settings()

    def was_at() -> str | None:
        engine = make_engine(settings)
        try:
            return current_revision(engine)
        except SQLAlchemyError:
            return None
        finally:
            engine.dispose()

    before = was_at()
    _or_exit(lambda: upgrade(settings))
    head = head_revision(settings)
    if before is None:
        click.echo(f"database created at the latest revision ({head})")
    elif before != head:
        click.echo(f"database migrated from revision {before} to {head}")
    else:
        click.echo(f"database is up to date (revision {head})")


def _announce_base_url(settings, host: str, port: int) -> None:
    """Links in mails and on class pages use NABIJ_BASE_URL. Unset in development, it follows the
    address served here (so `make run PORT=8101` links to :8101); in production it must be set."""
    import os

    listening = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if "NABIJ_BASE_URL" not in os.environ:
        if settings.is_production:
            click.echo(
                f"warning: NABIJ_BASE_URL is not set: links in mails will point to {settings.base_url}; "
                "set it to the address people use (e.g. https://nabij.school.be)",
                err=True,
            )
        else:
            os.environ["NABIJ_BASE_URL"] = listening  # the workers read their settings from the environment
            get_settings.cache_clear()
    import logging
    import logging.config

    from app.observability import logging_config

    # Through the log, so that in JSON mode this line is JSON like every other line.
    logging.config.dictConfig(logging_config("INFO", settings.effective_log_format))
    public = os.environ.get("NABIJ_BASE_URL", listening)
    logging.getLogger("nabij").info(
        "Nabij serves on %s%s", listening, f" (public address {public})" if public != listening else ""
    )


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


@contextmanager
def _account(email: str) -> Iterator[tuple[Session, User]]:
    """A writing session on the configured database and the account with this address, or one error line."""
    from sqlmodel import Session

    from app.db import make_engine, writer
    from app.services import accounts

    settings = get_settings()
    engine = make_engine(settings)
    try:
        _or_exit(lambda: _ensure_schema(settings, engine))
        with Session(writer(engine)) as session:
            found = accounts.find_by_email(session, email)
            if found is None:
                _fail(f"no account with the address {email}")
            yield session, found
    finally:
        engine.dispose()


@user.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def user_erase(email: str, yes: bool) -> None:
    """Erase an account and all its data at once (on request; app/services/erasure.py)."""
    from app.services import erasure

    with _account(email) as (session, found):
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

    with _account(email) as (session, found):
        problem = break_glass.set_safeguarding_officer(session, user=found, on=not off)
        if problem:
            _fail(problem)
        click.echo(f"{found.email} {'is no longer' if off else 'is now'} a safeguarding officer")


def _ensure_schema(settings, engine) -> None:
    from app.migrations import ensure_current

    ensure_current(settings, engine)


@main.command()
@click.option("--dry-run", is_flag=True, help="Only show what would be deleted.")
def purge(dry_run: bool) -> None:
    """Delete what the retention rules say has been kept long enough (the nightly job does this too)."""
    from sqlmodel import Session

    from app import jobs
    from app.db import make_engine, writer
    from app.services import retention

    settings = get_settings()
    engine = make_engine(settings)
    try:
        _or_exit(lambda: _ensure_schema(settings, engine))
        with Session(writer(engine)) as session:
            if dry_run:
                result = retention.plan(session, settings=settings)
                click.echo("would delete (dry run, nothing changed):")
            else:
                jobs.bind(settings)
                retention.warn_lecturers(session, settings=settings)
                result = retention.purge(session, settings=settings)
                click.echo("deleted:")
            for line in result.lines():
                click.echo(f"  {line}")
    finally:
        engine.dispose()


@main.command("rotate-data-key")
@click.option("--check", is_flag=True, help="Only count the stored texts under each key id; change nothing.")
@click.option("--dry-run", is_flag=True, help="Show what would be re-encrypted; change nothing.")
def rotate_data_key(check: bool, dry_run: bool) -> None:
    """Re-encrypt the stored texts with the current data key (docs/deploy.md, "Data key").

    Set NABIJ_DATA_KEY to the new key and NABIJ_DATA_KEY_PREVIOUS to the old one (or, if the old one
    was derived from it, the old NABIJ_SECRET_KEY), run this, then remove NABIJ_DATA_KEY_PREVIOUS.
    Servers may keep running meanwhile; it can be run again after an interruption.
    """
    from app import crypto
    from app.db import make_engine

    settings = get_settings()
    keyring = _or_exit(lambda: crypto.keyring_from_settings(settings))
    engine = make_engine(settings)
    try:
        _or_exit(lambda: _ensure_schema(settings, engine))
        click.echo(
            f"current data key: {keyring.current.key_id}; also readable: "
            f"{', '.join(k for k in keyring.key_ids if k != keyring.current.key_id) or 'none'}"
        )
        if check:
            with engine.connect() as connection:
                usage = crypto.key_usage(connection)
            for column, counts in usage.items():
                listed = ", ".join(f"{count} under {key_id}" for key_id, count in sorted(counts.items()))
                click.echo(f"  {column}: {listed or 'empty'}")
            return
        try:
            report = crypto.rotate(engine, keyring, dry_run=dry_run)
        except crypto.DataKeyError as error:
            _fail(f"{error}. The batch with that text was not changed; run again once the key is configured.")
        click.echo("would re-encrypt (dry run, nothing changed):" if dry_run else "re-encrypted:")
        for column, counts in report.items():
            listed = ", ".join(f"{count} from {key_id}" for key_id, count in sorted(counts.items()))
            click.echo(f"  {column}: {listed or 'nothing (all under the current key)'}")
        if not dry_run:
            click.echo("done: every stored text is under the current key; NABIJ_DATA_KEY_PREVIOUS can go.")
    finally:
        engine.dispose()


@main.command()
@click.option("--workers", default=2, show_default=True, help="Jobs run at the same time (threads).")
def worker(workers: int) -> None:
    """Run background jobs (mail, nightly purge, large exports) until Ctrl-C; see app/jobs.py."""
    from app.jobs import run_worker
    from app.migrations import ensure_current

    settings = get_settings()
    _or_exit(settings.secret)
    _or_exit(lambda: ensure_current(settings))
    click.echo(f"worker: running background jobs ({workers} at a time); stop with Ctrl-C")
    run_worker(settings, workers=workers)


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


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it already exists.")
def backup(path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while Nabij keeps running.

    Uses SQLite's online backup: one consistent copy, including what is still in the write-ahead
    log, without stopping the server (readers and writers go on meanwhile). PATH becomes one
    self-contained database file. For PostgreSQL, use pg_dump (see docs/deploy.md).
    """
    import os
    import sqlite3
    from contextlib import closing

    from sqlalchemy.engine import make_url

    settings = get_settings()
    url = make_url(settings.effective_database_url)
    backend = url.get_backend_name()
    if backend != "sqlite":
        _fail(
            f"`nabij backup` copies SQLite databases; this database is {backend}. Back up PostgreSQL "
            'with pg_dump, e.g. `pg_dump --format=custom --file=nabij.dump "$URL"` (docs/deploy.md).'
        )
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        _fail(f"cannot back up the SQLite database {url.database or '(in memory)'!r}: not a plain file.")
    source = Path(url.database).expanduser().resolve()
    target = path.expanduser().resolve()
    if not source.is_file():
        _fail(f"there is no database at {source} (nothing to back up; `nabij migrate` creates it).")
    if target == source:
        _fail("PATH is the database itself: choose another file.")
    if target.exists() and not force:
        _fail(f"{target} already exists: choose a new file, or add --force to replace it.")
    if not target.parent.is_dir():
        _fail(f"the folder {target.parent} does not exist.")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        partial.touch(mode=0o600)  # it holds password hashes and reflections: owner only
        with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(partial)) as dst:
            src.backup(dst)  # one step: a consistent snapshot; in WAL mode writers are not blocked
            dst.execute("PRAGMA journal_mode=DELETE")  # no -wal/-shm beside the copy
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            _fail(f"the copy failed its integrity check ({check}); {target} was not written.")
        os.replace(partial, target)
    except sqlite3.Error as error:
        _fail(f"backup failed: {error}")
    finally:
        partial.unlink(missing_ok=True)
    click.echo(f"backed up {source} to {target} ({target.stat().st_size} bytes, integrity ok)")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _or_exit(action):
    try:
        return action()
    except ConfigError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


# -- classes and assignments, for IT staff and scripts -------------------------------------------


class _CliError(Exception):
    """A one-line reason for `error: …` and exit status 1."""


def _class_command(function):
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
            _ensure_schema(settings, engine)
            with Session(engine, expire_on_commit=False) as session:
                return function(settings, session, *args, **kwargs)
        except (ConfigError, _CliError) as error:
            _fail(str(error))
        except ClassError as error:
            _fail(error.message)
        except SQLAlchemyError as error:
            _fail(f"database: {str(error.orig if getattr(error, 'orig', None) else error).splitlines()[0]}")
        finally:
            i18n.current_locale.reset(token)
            if engine is not None:
                engine.dispose()

    return wrapper


def _class_by_id(session, value: str):
    from app.forms import parse_int
    from app.models import CourseClass

    if parse_int(value.strip()) is None:
        raise _CliError(f"CLASS must be a class id (the number `nabij class create` printed), not {value!r}.")
    course_class = session.get(CourseClass, parse_int(value.strip()))
    if course_class is None:
        raise _CliError(f"there is no class with id {value}.")
    return course_class


def _writable(course_class) -> None:
    if course_class.archived_at is not None:
        raise _CliError(f"class {course_class.id} ({course_class.name}) is archived: it cannot be changed.")


def _cli_date(value: str | None, option: str):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _CliError(f"{option} must be a date like 2026-10-01, not {value!r}.") from None


@main.group("class")
def class_group() -> None:
    """Manage classes: create them, enrol students, import rosters."""


@class_group.command("create")
@click.argument("name")
@click.option(
    "--lecturer", "lecturer_email", required=True, help="Email address of the lecturer account that teaches it."
)
@click.option("--programme", default="", help='e.g. "Bachelor Sociaal Werk".')
@click.option("--year", "academic_year", default="", help="Academic year, e.g. 2026-2027.")
@_class_command
def class_create(settings, session, name: str, lecturer_email: str, programme: str, academic_year: str) -> None:
    """Create a class NAME; print its id (alone on the first line), then its join code."""
    from app.models import Role
    from app.services import classes
    from app.services.accounts import find_by_email

    lecturer = find_by_email(session, lecturer_email)
    if lecturer is None or lecturer.role not in (Role.LECTURER, Role.ADMIN) or not lecturer.is_active:
        raise _CliError(
            f"there is no active lecturer account {lecturer_email!r} "
            "(create one with `nabij user create EMAIL --role lecturer --name NAME`)."
        )
    course_class = classes.create_class(
        session, name=name, lecturer=lecturer, programme=programme, academic_year=academic_year
    )
    click.echo(course_class.id)
    click.echo(classes.format_join_code(course_class.join_code))


@class_group.command("enroll")
@click.argument("class_ref", metavar="CLASS")
@click.option("--student", "student_email", required=True, help="Email address of an existing student account.")
@_class_command
def class_enroll(settings, session, class_ref: str, student_email: str) -> None:
    """Enrol an existing student account in CLASS (the id printed by `nabij class create`)."""
    from app.models import Role
    from app.services import classes
    from app.services.accounts import find_by_email

    course_class = _class_by_id(session, class_ref)
    _writable(course_class)
    student = find_by_email(session, student_email)
    if student is None or student.role != Role.STUDENT:
        raise _CliError(
            f"there is no student account {student_email!r}; to invite someone without an account, "
            "use `nabij class import CLASS roster.csv`."
        )
    if classes.enrol(session, course_class=course_class, student=student):
        click.echo(f"enrolled {student.email} in class {course_class.id}")
    else:
        click.echo(f"{student.email} was already in class {course_class.id}")


@class_group.command("import")
@click.argument("class_ref", metavar="CLASS")
@click.argument("roster_path", metavar="ROSTER.CSV", type=click.Path(dir_okay=False, path_type=Path))
@_class_command
def class_import(settings, session, class_ref: str, roster_path: Path) -> None:
    """Import a roster (name,email per line; a header is optional) into CLASS.

    Existing student accounts are enrolled; everyone else gets an invitation mail with a signup link.
    When any line is wrong, nothing is imported and each problem is printed as `path:line: message`.
    """
    from app.services import classes, roster

    course_class = _class_by_id(session, class_ref)
    _writable(course_class)
    try:
        text = roster.decode_upload(roster_path.read_bytes())
    except OSError as error:
        raise _CliError(f"{roster_path}: cannot read the file ({error.strerror or error}).") from None
    parsed = roster.parse_roster(text)
    problems = parsed.problems or roster.check_accounts(session, lines=parsed.lines)
    if problems:
        for problem in problems:
            click.echo(f"{roster_path}:{problem.line}: {problem.message}", err=True)
        _fail(f"nothing was imported: {len(problems)} problem(s) in {roster_path}")
    lecturers = classes.class_lecturers(session, course_class=course_class)
    result = roster.import_roster(
        session,
        course_class=course_class,
        lines=parsed.lines,
        settings=settings,
        lecturer_name=lecturers[0].display_name if lecturers else "Nabij",
    )
    click.echo(
        f"class {course_class.id}: {len(result.enrolled)} enrolled, {len(result.invited)} invited, "
        f"{len(result.reinvited)} invited again, {len(result.already)} already in the class"
    )
    if result.unsent:
        _fail(f"{len(result.unsent)} invitation mail(s) could not be sent: {', '.join(result.unsent)}")


@main.command("assign")
@click.argument("class_ref", metavar="CLASS")
@click.argument("module_slug")
@click.option("--due", required=True, help="Due date, YYYY-MM-DD.")
@click.option("--opens", default=None, help="Opening date, YYYY-MM-DD (default: open at once).")
@_class_command
def assign_module(settings, session, class_ref: str, module_slug: str, due: str, opens: str | None) -> None:
    """Assign the published module MODULE_SLUG to CLASS, or change its dates when it is assigned already."""
    from app.content.catalogue import load_catalogue
    from app.services import classes

    course_class = _class_by_id(session, class_ref)
    _writable(course_class)
    due_on, opens_on = _cli_date(due, "--due"), _cli_date(opens, "--opens")
    module = load_catalogue(settings.modules_dir).get(module_slug)
    if module is None:
        raise _CliError(
            f"there is no module {module_slug!r} in {settings.modules_dir} "
            "(or it has problems: run `nabij modules check`)."
        )
    if module.draft:
        raise _CliError(f"module {module_slug!r} is a draft; publish it before assigning it.")
    assignment = classes.assign(
        session, course_class=course_class, module_slug=module.slug, due_on=due_on, opens_on=opens_on
    )
    opens_text = f", opens {assignment.opens_on.isoformat()}" if assignment.opens_on else ""
    click.echo(f"assigned {module.slug} to class {course_class.id}: due {assignment.due_on.isoformat()}{opens_text}")


# -- LTI 1.3: the LMS platforms that launch Nabij (app/lti, docs/lti.md) ---------------------------


@main.group("lti")
def lti_group() -> None:
    """Register LMS platforms (LTI 1.3) and manage Nabij's signing key."""


@lti_group.command("register")
@click.option(
    "--issuer", required=True, help="The platform's issuer (platform ID), e.g. https://canvas.instructure.com."
)
@click.option("--client-id", required=True, help="The client id the LMS gave Nabij.")
@click.option("--auth-login-url", required=True, help="The LMS's OIDC authentication request URL.")
@click.option("--auth-token-url", required=True, help="The LMS's OAuth2 access token URL.")
@click.option("--jwks-url", required=True, help="The LMS's public keyset (JWKS) URL.")
@click.option("--deployment-id", required=True, help="The deployment id of this installation of the tool.")
@click.option("--name", default="", help='A name for people, e.g. "Canvas HoGent".')
@click.option(
    "--frame-origin",
    "frame_origins",
    multiple=True,
    help="Another origin whose pages show Nabij in a frame (e.g. https://hogent.instructure.com); repeatable.",
)
@_class_command
def lti_register(
    settings, session, issuer, client_id, auth_login_url, auth_token_url, jwks_url, deployment_id, name, frame_origins
) -> None:
    """Register one platform + deployment; prints its id and Nabij's URLs for the LMS."""
    from app.lti import keys, registration

    try:
        platform = registration.register(
            session,
            {
                "issuer": issuer,
                "client_id": client_id,
                "auth_login_url": auth_login_url,
                "auth_token_url": auth_token_url,
                "jwks_url": jwks_url,
                "deployment_id": deployment_id,
                "name": name,
                "frame_origins": " ".join(frame_origins),
            },
            production=settings.is_production,
        )
    except registration.RegistrationError as error:
        raise _CliError(
            "; ".join(f"--{field.replace('_', '-')}: {message}" for field, message in error.errors.items())
        ) from None
    keys.ensure_key(session)
    urls = registration.ToolUrls.at(settings.base_url)
    click.echo(
        f"registered platform {platform.id}: {platform.issuer} client {platform.client_id} "
        f"deployment {platform.deployment_id}"
    )
    click.echo(
        f"  login initiation URL: {urls.login}\n  launch/redirect URL:  {urls.launch}\n"
        f"  deep linking URL:     {urls.deep_linking}\n  JWKS URL:             {urls.jwks}"
    )


@lti_group.command("list")
@_class_command
def lti_list(settings, session) -> None:
    """The registered platforms, one per line: id, issuer, client id, deployment id, name."""
    from app.lti import registration

    platforms = registration.platforms(session)
    if not platforms:
        click.echo("no platforms registered")
    for platform in platforms:
        click.echo(f"{platform.id}\t{platform.issuer}\t{platform.client_id}\t{platform.deployment_id}\t{platform.name}")


@lti_group.command("remove")
@click.argument("platform_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_class_command
def lti_remove(settings, session, platform_id: int, yes: bool) -> None:
    """Remove registration PLATFORM_ID: its launches stop working (classes and accounts stay)."""
    from app.lti import registration
    from app.models import LtiPlatform

    platform = session.get(LtiPlatform, platform_id)
    if platform is None:
        raise _CliError(f"there is no platform with id {platform_id} (see `nabij lti list`).")
    if not yes:
        click.confirm(f"Remove {platform.issuer} deployment {platform.deployment_id}?", abort=True)
    registration.remove(session, platform_id=platform_id)
    click.echo(f"removed platform {platform_id}")


@lti_group.command("rotate-key")
@_class_command
def lti_rotate_key(settings, session) -> None:
    """Sign with a new key from now on; the old key stays in the JWKS until its tokens have expired."""
    from app.lti import keys

    new, retired = keys.rotate(session)
    click.echo(
        f"new signing key {new.kid}; {len(retired)} previous key(s) kept in the JWKS for "
        f"{int(keys.KEEP_RETIRED.total_seconds() // 3600)} hours"
    )


@main.group("oidc")
def oidc_group() -> None:
    """Institution sign-in with OpenID Connect (docs/sso.md)."""


@oidc_group.command("check")
def oidc_check() -> None:
    """Fetch the discovery document and the JWKS; say in one line what is wrong, if anything."""
    from app.config import Settings
    from app.services.oidc import check_provider, config_from, redirect_uri

    settings = Settings()  # read now: IT staff run this right after changing the environment
    problem = check_provider(settings)
    if problem:
        click.echo(f"oidc check: {problem}", err=True)
        sys.exit(1)
    config = config_from(settings)
    click.echo(f"oidc check: ok: {config.issuer} (client {config.client_id}; redirect URI {redirect_uri(settings)})")


if __name__ == "__main__":
    main()
