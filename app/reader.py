"""The reader page of a module section, for anyone and, for a student, with their own work on it.

A view, not a route: the module pages render it, and so do the routes that come back to it after a
student's action (saving, submitting, a case step, logging in again with text carried through the login
page), so that every way to the page shows the same page.
"""

from __future__ import annotations

from typing import TypeGuard

from fastapi import Request

from app.content.model import Module, Section
from app.content.navigation import section_navigation
from app.db import write_for
from app.models import Role, User, stored_id
from app.services import progress as progress_service
from app.services import reflections
from app.services.workspace import (
    ReflectionWork,
    ShownAgain,
    load_work,
    mark_feedback_read,
    record_visit,
    unread_feedback_ids,
)
from app.templating import render


def is_student(user: User | None) -> TypeGuard[User]:
    return user is not None and user.role == Role.STUDENT


def section_page(
    request: Request,
    session,
    user: User | None,
    module: Module,
    section: Section,
    *,
    shown_again: ShownAgain | None = None,
    status_code: int = 200,
):
    """The reader page; for a student with their own answers, choices and feedback on it.

    `shown_again`: a block that did not take the student's last request, shown with their text and why.
    """
    context: dict[str, object] = {
        "module": module,
        "section": section,
        "nav": section_navigation(module, section),
        "works": {},
        "progress": None,
    }
    if is_student(user):
        progress = progress_service.module_progress(session, user_id=stored_id(user), module=module)
        works = load_work(session, user_id=stored_id(user), module=module, blocks=section.interactive())
        if shown_again is not None and shown_again.block_id in works:
            shown_again.apply_to(works[shown_again.block_id])
        not_submitted = works.get(request.query_params.get("not-submitted", ""))
        if isinstance(not_submitted, ReflectionWork) and not not_submitted.submit_problem:
            # Back from a submit that was too short: say why beside the answer (it was kept as a draft).
            not_submitted.submit_problem = reflections.submission_problem(not_submitted.prompt, not_submitted.text)
        unread = unread_feedback_ids(works)
        if section.id not in progress.sections_visited or unread:
            with write_for(request, session) as writer:
                record_visit(
                    writer,
                    user_id=stored_id(user),
                    module=module,
                    section_id=section.id,
                    visited=progress.sections_visited,
                )
                if unread:
                    mark_feedback_read(writer, feedback_ids=unread)  # shown as "new" this once
        progress.sections_visited.add(section.id)
        context.update(works=works, progress=progress, feedback_sections=feedback_sections(module, progress))
        return render(
            request,
            "modules/section.html",
            context,
            fragment="modules/_section.html",
            status_code=status_code,
            private=True,
        )
    return render(request, "modules/section.html", context, fragment="modules/_section.html", status_code=status_code)


def feedback_sections(module: Module, progress) -> set[str]:
    return {section.id for p in progress.prompts_with_new_feedback if (section := module.section_of(p))}


def page_updates(session, user: User, module: Module, block_id: str) -> dict:
    """What else on the section page changes when a block's state changes (htmx, swapped in by id):
    the contents' progress, and the student's path shown beside reflections on the same case."""
    progress = progress_service.module_progress(session, user_id=stored_id(user), module=module)
    section = module.section_of(block_id)
    referring = (
        [block for block in section.interactive() if getattr(block, "refers_to", None) == block_id] if section else []
    )
    works = load_work(session, user_id=stored_id(user), module=module, blocks=referring) if referring else {}
    return {
        "progress": progress,
        "feedback_sections": feedback_sections(module, progress),
        "section": section,
        "paths": [
            (block, work)
            for block in referring
            if isinstance(work := works[block.id], ReflectionWork) and work.refers_to
        ],
    }


def reflection_work(session, user: User, module: Module, prompt_id: str) -> ReflectionWork:
    work = load_work(session, user_id=stored_id(user), module=module, blocks=[module.reflections[prompt_id]])[prompt_id]
    assert isinstance(work, ReflectionWork), "the work of a reflection is a ReflectionWork"
    return work
