"""Each student's stored progress counts (app/services/progress_summary.py): fresh or stale, never wrong.

A lecturer's matrix reads these rows instead of counting a whole class's work. Whatever path changes a
student's work (a page, a service, a cascade, a bulk delete, an edited module), the matrix must show
what counting the work tables would show.
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace

import pytest
from sqlalchemy import delete, text
from sqlmodel import Session, select

from app.content.model import Module
from app.models import Answer, CourseClass, ProgressSummary, Role, SectionVisit, User, stored_id
from app.services import checks, classes, erasure, progress_summary, reflections, vignettes
from app.services.progress import module_progress, progress_counts
from app.services.workspace import record_visit
from tests.conftest import POSTGRES_URL
from tests.factories import (
    add_students,
    assign,
    finish_walk,
    first_prompt,
    login,
    make_class,
    make_user,
    submit,
)
from tests.querycount import count_queries


def _numbers(counts) -> dict:
    return {pair: (c.sections, c.prompts, c.vignettes, c.checks) for pair, c in counts.items()}


def _agree(session: Session, users: list[User], modules: list[Module]) -> set[int]:
    """The stored counts equal the live ones; the users whose stored counts were stale."""
    session.commit()  # see what was committed since (SQLite keeps a read snapshot until then)
    ids = [stored_id(user) for user in users]
    stored, stale = progress_summary.counts(session, user_ids=ids, modules=modules)
    assert _numbers(stored) == _numbers(progress_counts(session, user_ids=ids, modules=modules))
    return stale


def _with_everything(app) -> Module:
    """A shipped module with sections, a reflection, a vignette and a check."""
    return next(m for m in app.state.catalogue.published() if m.reflections and m.vignettes and m.checks)


@pytest.fixture
def lecturer(session):
    return make_user(session, role=Role.LECTURER, name="Lena Lector")


@pytest.fixture
def course(app, session, lecturer):
    course_class = make_class(session, lecturer=lecturer)
    module = _with_everything(app)
    assign(session, course_class, module)
    return course_class, module


def test_every_step_a_student_takes_stores_their_counts_fresh(app, client, session, course):
    course_class, module = course
    (student,) = add_students(session, course_class, 1)
    session.commit()
    login(client, student)
    assert _agree(session, [student], [module]) == {stored_id(student)}  # nothing stored yet

    assert client.get(f"/modules/{module.slug}/{module.sections[0].id}").status_code == 200
    assert _agree(session, [student], [module]) == set()

    check = next(iter(module.checks.values()))
    checks.answer_check(session, user_id=stored_id(student), module=module, check=check, selected=[0])
    assert _agree(session, [student], [module]) == set()

    vignette = next(iter(module.vignettes.values()))
    finish_walk(session, student, module, vignette, [])
    assert _agree(session, [student], [module]) == set()

    submit(session, student, module, first_prompt(module), "Mijn eerste reflectie.")
    assert _agree(session, [student], [module]) == set()

    row = session.get(ProgressSummary, (stored_id(student), module.slug))
    assert row is not None and row.fingerprint == module.steps_fingerprint
    assert (row.sections, row.prompts, row.vignettes, row.checks) == (1, 1, 1, 1)


def test_an_autosave_a_second_visit_or_a_new_answer_to_a_check_leaves_the_counts_alone(app, client, session, course):
    course_class, module = course
    (student,) = add_students(session, course_class, 1)
    prompt_id = first_prompt(module)
    submit(session, student, module, prompt_id, "Eerste versie.")
    assert _agree(session, [student], [module]) == set()
    before = session.get(ProgressSummary, (stored_id(student), module.slug))
    assert before is not None and before.prompts == 1

    def stale_after(change) -> bool:
        session.commit()
        change()
        session.commit()
        return _agree(session, [student], [module]) != set()

    answer = reflections.find_answer(session, user_id=stored_id(student), module_slug=module.slug, prompt_id=prompt_id)
    assert answer is not None
    prompt = replace(module.reflections[prompt_id], min_words=0)
    assert not stale_after(
        lambda: reflections.save_draft(
            session,
            user_id=stored_id(student),
            module=module,
            prompt=prompt,
            text="Eerste versie, langer.",
            base_version=answer.version,
        )
    )
    check = next(iter(module.checks.values()))
    checks.answer_check(session, user_id=stored_id(student), module=module, check=check, selected=[0])
    assert not stale_after(
        lambda: checks.answer_check(session, user_id=stored_id(student), module=module, check=check, selected=[1])
    )
    login(client, student)
    url = f"/modules/{module.slug}/{module.sections[0].id}"
    client.get(url)
    assert not stale_after(lambda: client.get(url))


def test_work_removed_by_any_path_makes_the_counts_stale_not_wrong(app, session, course):
    course_class, module = course
    students = add_students(session, course_class, 3)
    for student in students:
        submit(session, student, module, first_prompt(module), "Tekst.")
        record_visit(
            session, user_id=stored_id(student), module=module, section_id=module.sections[0].id, visited=set()
        )
        session.commit()
    assert _agree(session, students, [module]) == set()

    # A bulk delete, as an operator's SQL or a future job would do it, past every service.
    session.exec(delete(SectionVisit).where(SectionVisit.user_id == stored_id(students[0])))
    session.commit()
    assert _agree(session, students, [module]) == {stored_id(students[0])}

    # Leaving the class takes the answers written for it: the submission no longer counts.
    erasure.leave_class(session, user=students[1], class_id=stored_id(course_class))
    session.commit()
    assert stored_id(students[1]) in _agree(session, students, [module])

    # A class deleted: its answers go by cascade, and with them the submissions of all its students.
    session.exec(delete(CourseClass).where(CourseClass.id == stored_id(course_class)))
    session.commit()
    stale = _agree(session, students, [module])
    assert stored_id(students[2]) in stale


def test_an_erased_account_leaves_no_stored_counts(app, session, course):
    course_class, module = course
    (student,) = add_students(session, course_class, 1)
    submit(session, student, module, first_prompt(module), "Tekst.")
    assert session.get(ProgressSummary, (stored_id(student), module.slug)) is not None
    assert erasure.erase_user(session, user_id=stored_id(student))
    session.commit()
    left = session.exec(select(ProgressSummary).where(ProgressSummary.user_id == stored_id(student))).all()
    assert left == []


def test_a_prompt_answered_for_two_classes_counts_once_as_on_the_students_own_page(app, session, lecturer, course):
    course_class, module = course
    (student,) = add_students(session, course_class, 1)
    second = make_class(session, lecturer=lecturer, name="SW2B")
    assign(session, second, module)
    classes.enrol(session, course_class=second, student=student)
    session.commit()
    submit(session, student, module, first_prompt(module), "Voor een van de klassen.")
    answer = reflections.find_answer(
        session, user_id=stored_id(student), module_slug=module.slug, prompt_id=first_prompt(module)
    )
    assert answer is not None
    session.add(
        Answer(
            user_id=stored_id(student),
            class_id=stored_id(course_class) if answer.class_id == stored_id(second) else stored_id(second),
            module_slug=module.slug,
            prompt_id=first_prompt(module),
            text="Voor de andere klas.",
            submitted_at=answer.submitted_at,
        )
    )
    session.commit()
    _agree(session, [student], [module])
    counts, _ = progress_summary.counts(session, user_ids=[stored_id(student)], modules=[module])
    own = module_progress(session, user_id=stored_id(student), module=module)
    assert counts[stored_id(student), module.slug].prompts == len(own.prompts_submitted) == 1


def test_counts_made_for_an_earlier_shape_of_the_module_are_counted_again(app, session, course):
    course_class, module = course
    (student,) = add_students(session, course_class, 1)
    for section in module.sections[:2]:
        record_visit(session, user_id=stored_id(student), module=module, section_id=section.id, visited=set())
    session.commit()
    assert _agree(session, [student], [module]) == set()
    # The author removed the first section: a visit to it no longer counts.
    edited = replace(module, sections=module.sections[1:], reflections={}, vignettes={}, checks={})
    assert edited.steps_fingerprint != module.steps_fingerprint
    assert _agree(session, [student], [edited]) == {stored_id(student)}
    counts, _ = progress_summary.counts(session, user_ids=[stored_id(student)], modules=[edited])
    assert counts[stored_id(student), module.slug].sections == 1
    # A text-only edit (same ids) keeps them.
    retitled = replace(module, title="Nieuwe titel", reflections={}, vignettes={}, checks={})
    assert retitled.steps_fingerprint == module.steps_fingerprint


def test_the_matrix_stores_what_it_had_to_count_so_the_next_view_only_reads(app, client, session, lecturer, course):
    course_class, module = course
    students = add_students(session, course_class, 12)
    for student in students:
        record_visit(
            session, user_id=stored_id(student), module=module, section_id=module.sections[0].id, visited=set()
        )
    session.commit()
    session.exec(text("DELETE FROM progress_summary"))  # as after the migration: nothing stored yet
    session.commit()
    login(client, lecturer)
    url = f"/classes/{course_class.id}/progress?sort=-progress"
    with count_queries(app.state.engine) as first:
        assert client.get(url).status_code == 200
    assert _agree(session, students, [module]) == set()  # stored by that view
    with count_queries(app.state.engine) as second:
        page = client.get(url)
    assert page.status_code == 200
    assert second.count < first.count, f"first view:\n{first}\nsecond view:\n{second}"
    assert not any("INSERT INTO progress_summary" in statement for statement in second.statements), str(second)


def test_any_sequence_of_work_and_removals_keeps_the_matrix_counts_right(app, session, course):
    """A random walk through what students and operators do, checked against a live count after each step."""
    course_class, module = course
    other = next(m for m in app.state.catalogue.published() if m.slug != module.slug)
    assign(session, course_class, other)
    students = add_students(session, course_class, 3)
    modules = [module, other]
    generator = random.Random(19)

    def visit(student, chosen):
        section = generator.choice(chosen.sections)
        record_visit(session, user_id=stored_id(student), module=chosen, section_id=section.id, visited=set())

    def check(student, chosen):
        if chosen.checks:
            picked = generator.choice(list(chosen.checks.values()))
            checks.answer_check(session, user_id=stored_id(student), module=chosen, check=picked, selected=[0])

    def reflect(student, chosen):
        if chosen.reflections:
            submit(session, student, chosen, generator.choice(list(chosen.reflections)), "Tekst.")

    def walk(student, chosen):
        if chosen.vignettes:
            vignette = generator.choice(list(chosen.vignettes.values()))
            if vignette.branching:
                finish_walk(session, student, chosen, vignette, [])
            else:
                vignettes.mark_read(session, user_id=stored_id(student), module=chosen, vignette=vignette)

    def remove(student, chosen):
        table = generator.choice(["section_visit", "answer", "vignette_run", "check_answer"])
        session.exec(
            text(f"DELETE FROM {table} WHERE user_id = :user AND module_slug = :slug"),
            params={"user": stored_id(student), "slug": chosen.slug},
        )

    def store(student, chosen):
        _, stale = progress_summary.counts(session, user_ids=[stored_id(s) for s in students], modules=modules)
        progress_summary.store_stale(session, user_ids=stale, modules=modules)

    steps = [visit, visit, check, reflect, walk, remove, store]
    for _ in range(40):
        session.commit()
        generator.choice(steps)(generator.choice(students), generator.choice(modules))
        session.commit()
        _agree(session, students, modules)


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL only: SQLite lets one writer at a time, so two cannot overlap")
def test_two_transactions_for_the_same_student_and_module_count_one_after_the_other(app, session, course):
    """Two tabs record two first visits at the same moment, with no stored row yet: the later one must
    count what the earlier one committed, not the snapshot it started from."""
    course_class, module = course
    (student,) = add_students(session, course_class, 1)
    session.commit()
    first, second = module.sections[0].id, module.sections[1].id
    with Session(app.state.engine) as one, Session(app.state.engine) as other:
        one.add(SectionVisit(user_id=stored_id(student), module_slug=module.slug, section_id=first))
        one.flush()  # the trigger has taken the row's lock
        done = threading.Event()

        def later() -> None:
            other.add(SectionVisit(user_id=stored_id(student), module_slug=module.slug, section_id=second))
            other.flush()  # waits for `one`
            progress_summary.refresh(other, user_ids=[stored_id(student)], modules=[module])
            other.commit()
            done.set()

        thread = threading.Thread(target=later)
        thread.start()
        assert not done.wait(0.5)  # still waiting for the row's lock
        progress_summary.refresh(one, user_ids=[stored_id(student)], modules=[module])
        one.commit()
        thread.join(10)
        assert done.is_set()
    session.commit()
    row = session.get(ProgressSummary, (stored_id(student), module.slug))
    assert row is not None and row.fingerprint == module.steps_fingerprint and row.sections == 2


def test_the_reflections_released_in_rounds_follow_every_change_to_the_class_work(app, session, course):
    """The release is worked out once per state of the class (course_class.work_version): a submission,
    a confirmed or withdrawn address, answers removed and a new k each give a new state."""
    course_class, module = course
    course_class.min_group_size = 3
    session.add(course_class)
    session.commit()
    students = add_students(session, course_class, 4)

    def released() -> set[int]:
        session.commit()
        pairs = classes.released_reflections(session, course_class=course_class, modules=[module])
        return {user_id for user_id, _slug in pairs}

    def submit_everything(student) -> None:
        for prompt_id in module.reflections:
            submit(session, student, module, prompt_id, "Tekst.")

    for student in students[:2]:
        submit_everything(student)
    assert released() == set()  # a round of 3 is not yet full
    submit_everything(students[2])
    assert released() == {stored_id(s) for s in students[:3]}

    # An address no longer confirmed takes its answers out of the rounds: the round is no longer full.
    session.exec(
        text('UPDATE "user" SET email_verified_at = NULL WHERE id = :id'), params={"id": stored_id(students[0])}
    )
    session.commit()
    assert released() == set()
    submit_everything(students[3])
    assert released() == {stored_id(s) for s in students[1:4]}

    # Answers removed past every service (their revisions go by cascade): the round falls below k again.
    session.exec(text("DELETE FROM answer WHERE user_id = :id"), params={"id": stored_id(students[3])})
    session.commit()
    assert released() == set()

    # Back to the first three, confirmed, and then a k of 4: they are no longer a full round.
    session.exec(
        text('UPDATE "user" SET email_verified_at = created_at WHERE id = :id'), params={"id": stored_id(students[0])}
    )
    session.commit()
    assert released() == {stored_id(s) for s in students[:3]}
    course_class.min_group_size = 4
    session.add(course_class)
    session.commit()
    assert released() == set()
