"""`nabij class …` and `nabij assign` for IT staff and scripts: plain output, one-line errors, exit 1."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlmodel import select

from app.cli import main
from app.config import get_settings
from app.models import Assignment, ClassLecturer, CourseClass, Enrolment, Invitation, Role
from app.services import classes
from tests.conftest import TEST_SECRET
from tests.factories import make_user


@pytest.fixture
def cli(settings, session, monkeypatch):
    """Run `nabij …` against the test database: get_settings() is cached, so clear it around the test."""
    monkeypatch.setenv("NABIJ_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("NABIJ_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("NABIJ_MODULES_DIR", str(settings.modules_dir))
    monkeypatch.setenv("NABIJ_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("NABIJ_ENV", "test")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str):
        session.commit()  # let the command see what the test wrote, and the test what it wrote
        result = runner.invoke(main, list(args))
        session.commit()
        return result

    yield run
    get_settings.cache_clear()


def _lines(result) -> list[str]:
    return result.stdout.splitlines()


def _one_line_error(result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    errors = result.stderr.strip().splitlines()
    assert errors[-1].startswith("error: ") and expected in errors[-1], result.stderr


def test_class_create_prints_the_id_alone_then_the_join_code(cli, session):
    lecturer = make_user(session, role=Role.LECTURER, email="an.peeters@school.be")
    result = cli(
        "class",
        "create",
        "SW2A",
        "--lecturer",
        "AN.PEETERS@school.be",
        "--programme",
        "Sociaal Werk",
        "--year",
        "2026-2027",
    )
    assert result.exit_code == 0, result.output
    first, second = _lines(result)
    assert first.isdigit()
    course_class = session.get(CourseClass, int(first))
    assert (course_class.name, course_class.programme, course_class.academic_year) == (
        "SW2A",
        "Sociaal Werk",
        "2026-2027",
    )
    assert second == classes.format_join_code(course_class.join_code)
    assert session.get(ClassLecturer, (course_class.id, lecturer.id)) is not None


def test_class_create_refuses_a_student_as_lecturer(cli, session):
    make_user(session, email="student@school.be")
    _one_line_error(cli("class", "create", "SW2A", "--lecturer", "student@school.be"), "no active lecturer account")
    _one_line_error(cli("class", "create", "SW2A", "--lecturer", "nobody@school.be"), "no active lecturer account")
    make_user(session, role=Role.LECTURER, email="lect@school.be")
    _one_line_error(cli("class", "create", "  ", "--lecturer", "lect@school.be"), "Give the class a name.")
    assert session.exec(select(CourseClass)).first() is None


def test_class_enroll_adds_an_existing_student(cli, session):
    make_user(session, role=Role.LECTURER, email="lect@school.be")
    student = make_user(session, email="sam@school.be")
    class_id = _lines(cli("class", "create", "SW2A", "--lecturer", "lect@school.be"))[0]
    result = cli("class", "enroll", class_id, "--student", "sam@school.be")
    assert result.exit_code == 0 and "enrolled sam@school.be" in result.stdout
    assert session.get(Enrolment, (int(class_id), student.id)) is not None
    again = cli("class", "enroll", class_id, "--student", "sam@school.be")
    assert again.exit_code == 0 and "already" in again.stdout
    _one_line_error(cli("class", "enroll", class_id, "--student", "lect@school.be"), "no student account")
    _one_line_error(cli("class", "enroll", "999", "--student", "sam@school.be"), "no class with id 999")
    _one_line_error(cli("class", "enroll", "SW2A", "--student", "sam@school.be"), "CLASS must be a class id")


def test_class_import_reports_problems_per_line_or_imports_the_roster(cli, session, settings, tmp_path):
    make_user(session, role=Role.LECTURER, email="lect@school.be", name="Lena Lector")
    existing = make_user(session, email="sara@school.be")
    class_id = int(_lines(cli("class", "create", "SW2A", "--lecturer", "lect@school.be"))[0])
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nJonas,jonas@school.be\nNoor,noor-at-school\n,x@school.be\n")
    result = cli("class", "import", str(class_id), str(bad))
    _one_line_error(result, "nothing was imported: 2 problem(s)")
    assert f"{bad}:3: 'noor-at-school' is not a valid email address." in result.stderr
    assert f"{bad}:4: The name is missing." in result.stderr
    assert session.exec(select(Invitation)).first() is None

    good = tmp_path / "roster.csv"
    good.write_text("Sara El Amrani,sara@school.be\nJonas Peeters,jonas@school.be\n")
    result = cli("class", "import", str(class_id), str(good))
    assert result.exit_code == 0, result.output
    # Nobody is enrolled without knowing (issue 12): the existing account is invited too, and accepts.
    assert result.stdout.strip() == f"class {class_id}: 0 enrolled, 2 invited, 0 invited again, 0 already in the class"
    assert session.get(Enrolment, (class_id, existing.id)) is None
    assert sorted(i.email for i in session.exec(select(Invitation))) == ["jonas@school.be", "sara@school.be"]
    mails = [mail.read_text() for mail in (settings.var_dir / "outbox").glob("*.eml")]
    assert len(mails) == 2 and all("/signup?invite=" in mail and "Lena Lector" in mail for mail in mails)
    _one_line_error(cli("class", "import", str(class_id), str(tmp_path / "missing.csv")), "cannot read the file")


def test_assign_sets_dates_and_refuses_what_cannot_be_assigned(cli, session, app):
    make_user(session, role=Role.LECTURER, email="lect@school.be")
    class_id = _lines(cli("class", "create", "SW2A", "--lecturer", "lect@school.be"))[0]
    slug = app.state.catalogue.published()[0].slug
    result = cli("assign", class_id, slug, "--due", "2030-06-30", "--opens", "2030-06-01")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"assigned {slug} to class {class_id}: due 2030-06-30, opens 2030-06-01"
    assignment = session.exec(select(Assignment)).one()
    assert (assignment.due_on.isoformat(), assignment.opens_on.isoformat()) == ("2030-06-30", "2030-06-01")
    moved = cli("assign", class_id, slug, "--due", "2030-07-15")
    assert moved.exit_code == 0 and len(session.exec(select(Assignment)).all()) == 1

    _one_line_error(cli("assign", class_id, "no-such-module", "--due", "2030-06-30"), "no module 'no-such-module'")
    _one_line_error(cli("assign", class_id, slug, "--due", "30/06/2030"), "--due must be a date like")
    # The same rule as the web form, from the service: no due date in the past.
    _one_line_error(cli("assign", class_id, slug, "--due", "2020-06-30"), "The due date has passed")
    _one_line_error(
        cli("assign", class_id, slug, "--due", "2030-06-01", "--opens", "2030-07-01"),
        "The opening date must be on or before the due date.",
    )
    classes.archive_class(session, course_class=session.get(CourseClass, int(class_id)))
    _one_line_error(cli("assign", class_id, slug, "--due", "2030-06-30"), "is archived")


def test_commands_refuse_an_unmigrated_database_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("NABIJ_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("NABIJ_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NABIJ_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["class", "enroll", "1", "--student", "x@school.be"])
    finally:
        get_settings.cache_clear()
    _one_line_error(result, "nabij migrate")
