"""A student's own data (GDPR art. 15/20): every answer, revision, choice and feedback, as JSON or Markdown."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict

from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.models import (
    Answer,
    AnswerRevision,
    Assignment,
    CheckAnswer,
    ClassLecturer,
    CourseClass,
    Enrolment,
    Extension,
    ExternalIdentity,
    Feedback,
    Invitation,
    PasswordReset,
    SectionVisit,
    User,
    UserSession,
    VignetteRun,
    aware,
    stored_id,
    utcnow,
)
from app.services import pseudonyms
from app.services.checks import parse_selection
from app.services.markdown_text import escape_markdown
from app.services.vignettes import decode_path


def _when(value) -> str | None:
    return aware(value).isoformat() if value else None


# Every table that holds a user id, and where the export puts its rows (tests/test_privacy_export.py fails
# when a table with a user id is neither here nor in NOT_EXPORTED, with its reason).
EXPORTED_TABLES = {
    "user": "account",
    "user_session": "sessions",
    "password_reset": "password_resets",
    "enrolment": "classes",
    "class_lecturer": "teaching",
    "extension": "extensions",
    "section_visit": "section_visits",
    "answer": "modules",
    "answer_revision": "modules",
    "feedback": "modules",
    "assessment": "modules",
    "discussion_mark": "discussion_marks",
    "vignette_run": "modules",
    "check_answer": "modules",
    "external_identity": "external_identities",
    "notification": "notifications",
    "notification_setting": "notification_settings",
    "calendar_feed": "calendar_feeds",
    "lti_grade_post": "grades_sent",
    "feedback_message": "modules",
    "access_log": "access_log",
    "reveal_request": "reveals",
}
NOT_EXPORTED = {
    # (table, column): reason
    ("feedback", "author_id"): "feedback a lecturer wrote is exported with the student's answer it belongs "
    "to; giving it to the lecturer too would hand them the answers, outside the review",
    ("assessment", "assessor_id"): "levels a lecturer gave are exported with the student's answer, like feedback",
    ("feedback_message", "author_id"): "a lecturer's messages are exported with the student's answer, like feedback",
    ("progress_summary", "user_id"): "counts worked out from the section visits, answers, vignette walks and "
    "check answers, which are exported themselves; erased with the account",
}


def student_data(session: Session, *, user: User, catalogue: Catalogue, secret: bytes | None = None) -> dict:
    modules: dict[str, dict] = defaultdict(lambda: {"reflections": [], "vignettes": [], "checks": []})
    answers = list(session.exec(select(Answer).where(col(Answer.user_id) == user.id).order_by(col(Answer.id))))
    ids = [a.id for a in answers]
    # answer id -> its revisions, its feedback, its assessments
    revisions: defaultdict[int, list[dict[str, object]]] = defaultdict(list)
    feedback: defaultdict[int, list[dict[str, object]]] = defaultdict(list)
    assessed: defaultdict[int, list[dict[str, object]]] = defaultdict(list)
    if ids:
        from app.models import Assessment
        from app.services.assessment import decode

        for row in session.exec(
            select(Assessment).where(col(Assessment.answer_id).in_(ids)).order_by(col(Assessment.id))
        ):
            assessed[row.answer_id].append(
                {"rubric": row.rubric_id, "levels": decode(row.levels), "assessed_at": _when(row.created_at)}
            )
        for revision in session.exec(
            select(AnswerRevision).where(col(AnswerRevision.answer_id).in_(ids)).order_by(col(AnswerRevision.id))
        ):
            revisions[revision.answer_id].append(
                {
                    "text": revision.text,
                    "submitted_at": _when(revision.submitted_at),
                    "module_version": revision.module_version,
                    "prompt_hash": revision.prompt_hash,
                }
            )
        from app.models import FeedbackMessage

        items = list(session.exec(select(Feedback).where(col(Feedback.answer_id).in_(ids)).order_by(col(Feedback.id))))
        messages: defaultdict[int, list[dict[str, object]]] = defaultdict(list)
        if items:
            for message in session.exec(
                select(FeedbackMessage)
                .where(col(FeedbackMessage.feedback_id).in_([i.id for i in items]))
                .order_by(col(FeedbackMessage.id))
            ):
                messages[message.feedback_id].append(
                    {
                        "from_you": message.from_student,
                        "text": message.text,
                        "written_at": _when(message.created_at),
                        "edited_at": _when(message.edited_at),
                        "withdrawn_at": _when(message.withdrawn_at),
                    }
                )
        for item in items:
            feedback[item.answer_id].append(
                {
                    "feedback": item.text,
                    "given_at": _when(item.created_at),
                    "read_at": _when(item.read_at),
                    "your_reply": item.reply_text,
                    "replied_at": _when(item.replied_at),
                    "reply_read_at": _when(item.reply_read_at),
                    "messages": messages[stored_id(item)],
                }
            )
    for answer in answers:
        module = catalogue.get(answer.module_slug)
        prompt = module.reflections.get(answer.prompt_id) if module else None
        modules[answer.module_slug]["reflections"].append(
            {
                "prompt_id": answer.prompt_id,
                "prompt_title": prompt.title if prompt else None,
                "class_id": answer.class_id,
                "module_version": answer.module_version,
                "prompt_hash": answer.prompt_hash,
                "created_at": _when(answer.created_at),
                "submitted_at": _when(answer.submitted_at),
                "current_text": answer.text,
                "last_saved_at": _when(answer.updated_at),
                "submissions": revisions[stored_id(answer)],
                "feedback": feedback[stored_id(answer)],
                "assessments": assessed[stored_id(answer)],
            }
        )
    for run in session.exec(
        select(VignetteRun).where(col(VignetteRun.user_id) == user.id).order_by(col(VignetteRun.id))
    ):
        module = catalogue.get(run.module_slug)
        vignette = module.vignettes.get(run.vignette_id) if module else None
        choices = []
        for step_id, index in decode_path(run):
            step = vignette.steps.get(step_id) if vignette else None
            label = step.choices[index].label_text if step and index < len(step.choices) else f"{step_id}#{index}"
            choices.append(label)
        modules[run.module_slug]["vignettes"].append(
            {
                "vignette_id": run.vignette_id,
                "title": vignette.title if vignette else None,
                "choices": choices,
                "ending": run.ending_id,
                "started_at": _when(run.started_at),
                "finished_at": _when(run.finished_at),
            }
        )
    for check in session.exec(select(CheckAnswer).where(col(CheckAnswer.user_id) == user.id)):
        modules[check.module_slug]["checks"].append(
            {
                "check_id": check.check_id,
                "selected": sorted(parse_selection(check.selected)),
                "correct": check.correct,
                "answered_at": _when(check.answered_at),
            }
        )
    return {
        "exported_at": utcnow().isoformat(),
        "account": {
            "name": user.display_name,
            "email": user.email,
            "role": user.role,
            "language": user.locale,
            "created_at": _when(user.created_at),
            "email_verified_at": _when(user.email_verified_at),
            "password_changed_at": _when(user.password_changed_at),
        },
        **_about_you(session, user=user, answers=answers, secret=secret),
        **_lifecycle(session, user=user, catalogue=catalogue),
        "modules": [
            {"slug": slug, "title": module.title if (module := catalogue.get(slug)) else slug, **content}
            for slug, content in sorted(modules.items())
        ],
    }


def markdown_files(data: dict) -> dict[str, str]:
    """One Markdown file per module."""
    files = {}
    for module in data["modules"]:
        lines = [f"# {module['title']}", ""]
        for reflection in module["reflections"]:
            # Written text goes in as text, never as Markdown structure (app/services/markdown_text.py).
            lines += [
                f"## {reflection['prompt_title'] or reflection['prompt_id']}",
                "",
                escape_markdown(reflection["current_text"]),
                "",
            ]
            for number, submission in enumerate(reflection["submissions"], start=1):
                lines += [
                    f"### Ingediend ({number}) · {submission['submitted_at']}",
                    "",
                    escape_markdown(submission["text"]),
                    "",
                ]
            for item in reflection.get("assessments", []):
                levels = ", ".join(f"{criterion}: {level}" for criterion, level in item["levels"].items()) or "-"
                lines += [f"### Niveau ({item['rubric']}) · {item['assessed_at']}", "", escape_markdown(levels), ""]
            for item in reflection["feedback"]:
                lines += [f"### Feedback · {item['given_at']}", "", escape_markdown(item["feedback"]), ""]
                if item["your_reply"]:
                    lines += ["#### Jouw reactie", "", escape_markdown(item["your_reply"]), ""]
        for walk in module["vignettes"]:
            lines += [f"## Casus: {walk['title'] or walk['vignette_id']}", ""]
            lines += [f"{n}. {choice}" for n, choice in enumerate(walk["choices"], start=1)] + [""]
        files[f"{module['slug']}.md"] = "\n".join(lines).rstrip() + "\n"
    return files


def zip_bytes(data: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in markdown_files(data).items():
            archive.writestr(name, content)
        archive.writestr("nabij.json", json.dumps(data, ensure_ascii=False, indent=2))
    return buffer.getvalue()


def _about_you(session: Session, *, user: User, answers: list[Answer], secret: bytes | None) -> dict:
    """Everything else with the user's id: classes, sessions, visits, extensions, marks, own pseudonyms."""
    from app.models import DiscussionMark

    classes = []
    for enrolment, course_class in session.exec(
        select(Enrolment, CourseClass)
        .join(CourseClass, col(CourseClass.id) == col(Enrolment.class_id))
        .where(col(Enrolment.user_id) == user.id)
        .order_by(col(Enrolment.class_id))
    ):
        classes.append(
            {
                "class_id": course_class.id,
                "name": course_class.name,
                "enrolled_at": _when(enrolment.created_at),
                "archived_at": _when(course_class.archived_at),
            }
        )
    teaching = [
        {"class_id": c.id, "name": c.name}
        for c in session.exec(
            select(CourseClass)
            .join(ClassLecturer, col(ClassLecturer.class_id) == col(CourseClass.id))
            .where(col(ClassLecturer.user_id) == user.id)
            .order_by(col(CourseClass.id))
        )
    ]
    extensions = [
        {"class_id": a.class_id, "module": a.module_slug, "due_on": e.due_on.isoformat()}
        for e, a in session.exec(
            select(Extension, Assignment)
            .join(Assignment, col(Assignment.id) == col(Extension.assignment_id))
            .where(col(Extension.user_id) == user.id)
        )
    ]
    visits = [
        {"module": v.module_slug, "section": v.section_id, "visited_at": _when(v.visited_at)}
        for v in session.exec(
            select(SectionVisit)
            .where(col(SectionVisit.user_id) == user.id)
            .order_by(col(SectionVisit.module_slug), col(SectionVisit.section_id))
        )
    ]
    sessions_ = [
        {"created_at": _when(s.created_at), "last_seen_at": _when(s.last_seen_at), "user_agent": s.user_agent}
        for s in session.exec(
            select(UserSession).where(col(UserSession.user_id) == user.id).order_by(col(UserSession.id))
        )
    ]
    resets = [
        {"created_at": _when(r.created_at), "expires_at": _when(r.expires_at), "used_at": _when(r.used_at)}
        for r in session.exec(
            select(PasswordReset).where(col(PasswordReset.user_id) == user.id).order_by(col(PasswordReset.id))
        )
    ]
    identities = [
        {
            "issuer": i.issuer,
            "subject": i.subject,
            "created_at": _when(i.created_at),
            "last_seen_at": _when(i.last_seen_at),
        }
        for i in session.exec(select(ExternalIdentity).where(col(ExternalIdentity.user_id) == user.id))
    ]
    # Invitations are kept by address (there was no account yet): the ones to this account's address.
    invitations = [
        {
            "class_id": i.class_id,
            "name": i.display_name,
            "email": i.email,
            "created_at": _when(i.created_at),
            "accepted_at": _when(i.accepted_at),
        }
        for i in session.exec(
            select(Invitation).where(col(Invitation.email) == user.email).order_by(col(Invitation.id))
        )
    ]
    by_id = {a.id: a for a in answers}
    marks = []
    if by_id:
        for mark in session.exec(select(DiscussionMark).where(col(DiscussionMark.answer_id).in_(list(by_id)))):
            answer = by_id[mark.answer_id]
            marks.append(
                {
                    "class_id": mark.class_id,
                    "module": answer.module_slug,
                    "prompt_id": answer.prompt_id,
                    "marked_at": _when(mark.created_at),
                }
            )
    own_pseudonyms = []
    if secret is not None:
        shared = {
            c.id: c.shared_pseudonyms
            for c in session.exec(
                select(CourseClass).where(col(CourseClass.id).in_([a.class_id for a in answers if a.class_id]))
            )
        }
        for answer in answers:
            if answer.class_id is None or answer.submitted_at is None:
                continue
            scope = "" if shared.get(answer.class_id) else pseudonyms.prompt_scope(answer.module_slug, answer.prompt_id)
            own_pseudonyms.append(
                {
                    "class_id": answer.class_id,
                    "module": answer.module_slug,
                    "prompt_id": answer.prompt_id,
                    "pseudonym": pseudonyms.pseudonym(
                        secret, class_id=answer.class_id, user_id=stored_id(user), scope=scope
                    ),
                }
            )
    return {
        "classes": classes,
        "teaching": teaching,
        "extensions": extensions,
        "section_visits": visits,
        "sessions": sessions_,
        "password_resets": resets,
        "external_identities": identities,
        "invitations": invitations,
        "discussion_marks": marks,
        "pseudonyms": own_pseudonyms,
    }


def _lifecycle(session: Session, *, user: User, catalogue: Catalogue) -> dict:
    """Notifications, their settings, calendar feeds, grades sent to an LMS, the access log, reveals."""
    from app.models import CalendarFeed, LtiGradePost, Notification, NotificationSetting, RevealRequest
    from app.services import access_log, break_glass

    notifications = [
        {
            "kind": n.kind,
            "data": json.loads(n.data or "{}"),
            "link": n.link,
            "created_at": _when(n.created_at),
            "read_at": _when(n.read_at),
            "mailed_at": _when(n.mailed_at),
        }
        for n in session.exec(
            select(Notification).where(col(Notification.user_id) == user.id).order_by(col(Notification.id))
        )
    ]
    settings_ = [
        {"kind": row.kind, "mode": row.mode}
        for row in session.exec(select(NotificationSetting).where(col(NotificationSetting.user_id) == user.id))
    ]
    # The feed's token is a secret; only its hash is stored, and that is of no use to anyone.
    feeds = [
        {"created_at": _when(f.created_at)}
        for f in session.exec(select(CalendarFeed).where(col(CalendarFeed.user_id) == user.id))
    ]
    grades = [
        {"resource_link_id": g.resource_link_id, "score": g.score, "posted_at": _when(g.posted_at)}
        for g in session.exec(select(LtiGradePost).where(col(LtiGradePost.user_id) == user.id))
    ]
    reveals: list[dict[str, object]] = [
        {
            "class": r.class_name,
            "module": r.module_slug,
            "prompt_id": r.prompt_id,
            "asked_by": r.requester,
            "approved_by": r.approver,
            "approved_at": r.decided_at.isoformat(),
            "reason": r.reason,
        }
        for r in break_glass.reveals_of(session, user=user)
    ]
    # A lecturer's or officer's own requests and decisions (never the author's name: that is the student's).
    reveals.extend(
        {
            "class_id": r.class_id,
            "module": r.module_slug,
            "prompt_id": r.prompt_id,
            "asked_by_you": r.requester_id == user.id,
            "decided_by_you": r.decided_by_id == user.id,
            "status": r.status,
            "reason": r.reason,
            "asked_at": _when(r.created_at),
            "decided_at": _when(r.decided_at),
        }
        for r in session.exec(
            select(RevealRequest)
            .where((col(RevealRequest.requester_id) == user.id) | (col(RevealRequest.decided_by_id) == user.id))
            .order_by(col(RevealRequest.id))
        )
    )
    return {
        "notifications": notifications,
        "notification_settings": settings_,
        "calendar_feeds": feeds,
        "grades_sent": grades,
        "access_log": access_log.export_rows(session, user=user, catalogue=catalogue),
        "reveals": reveals,
    }
