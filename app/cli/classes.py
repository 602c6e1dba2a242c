"""Classes and assignments, for IT staff and scripts: `nabij class …`, `nabij assign`."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli import main
from app.cli.common import (
    CliError,
    class_by_id,
    class_command,
    cli_date,
    fail,
)


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
@class_command
def class_create(settings, session, name: str, lecturer_email: str, programme: str, academic_year: str) -> None:
    """Create a class NAME; print its id (alone on the first line), then its join code."""
    from app.models import Role
    from app.services import classes
    from app.services.accounts import find_by_email

    lecturer = find_by_email(session, lecturer_email)
    if lecturer is None or lecturer.role not in (Role.LECTURER, Role.ADMIN) or not lecturer.is_active:
        raise CliError(
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
@class_command
def class_enroll(settings, session, class_ref: str, student_email: str) -> None:
    """Enrol an existing student account in CLASS (the id printed by `nabij class create`)."""
    from app.models import Role
    from app.services import classes
    from app.services.accounts import find_by_email

    course_class = class_by_id(session, class_ref)
    classes.ensure_writable(course_class)
    student = find_by_email(session, student_email)
    if student is None or student.role != Role.STUDENT:
        raise CliError(
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
@class_command
def class_import(settings, session, class_ref: str, roster_path: Path) -> None:
    """Import a roster (name,email per line; a header is optional) into CLASS.

    Existing student accounts are enrolled; everyone else gets an invitation mail with a signup link.
    When any line is wrong, nothing is imported and each problem is printed as `path:line: message`.
    """
    from app.services import classes, roster

    course_class = class_by_id(session, class_ref)
    classes.ensure_writable(course_class)
    try:
        text = roster.decode_upload(roster_path.read_bytes())
    except OSError as error:
        raise CliError(f"{roster_path}: cannot read the file ({error.strerror or error}).") from None
    parsed = roster.parse_roster(text)
    problems = parsed.problems or roster.check_accounts(session, lines=parsed.lines)
    if problems:
        for problem in problems:
            click.echo(f"{roster_path}:{problem.line}: {problem.message}", err=True)
        fail(f"nothing was imported: {len(problems)} problem(s) in {roster_path}")
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
        fail(f"{len(result.unsent)} invitation mail(s) could not be sent: {', '.join(result.unsent)}")


@main.command("assign")
@click.argument("class_ref", metavar="CLASS")
@click.argument("module_slug")
@click.option("--due", required=True, help="Due date, YYYY-MM-DD.")
@click.option("--opens", default=None, help="Opening date, YYYY-MM-DD (default: open at once).")
@class_command
def assign_module(settings, session, class_ref: str, module_slug: str, due: str, opens: str | None) -> None:
    """Assign the published module MODULE_SLUG to CLASS, or change its dates when it is assigned already."""
    from app.content.catalogue import load_catalogue
    from app.services import classes

    course_class = class_by_id(session, class_ref)
    classes.ensure_writable(course_class)
    due_on, opens_on = cli_date(due, "--due"), cli_date(opens, "--opens")
    module = load_catalogue(settings.modules_dir).get(module_slug)
    if module is None:
        raise CliError(
            f"there is no module {module_slug!r} in {settings.modules_dir} "
            "(or it has problems: run `nabij modules check`)."
        )
    if module.draft:
        raise CliError(f"module {module_slug!r} is a draft; publish it before assigning it.")
    assignment = classes.assign(
        session, course_class=course_class, module_slug=module.slug, due_on=due_on, opens_on=opens_on
    )
    opens_text = f", opens {assignment.opens_on.isoformat()}" if assignment.opens_on else ""
    click.echo(f"assigned {module.slug} to class {course_class.id}: due {assignment.due_on.isoformat()}{opens_text}")
