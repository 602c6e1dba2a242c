"""A student's own reflections across modules ("Mijn reflecties"): what they submitted, the levels and
feedback they got, over time, and a portfolio export (Markdown in a ZIP) to take to an internship.

Only the student's own work: nothing of a lecturer but the feedback text and the level (no lecturer name,
no pseudonym), and never the modules' lecturer-only blocks. Four queries, whatever the number of answers.
"""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.content.model import Module, Reflection
from app.content.rubrics import Level
from app.i18n import gettext as _
from app.i18n import ngettext
from app.models import Answer, AnswerRevision, Assessment, CourseClass, Feedback, User, school_day, stored_id
from app.services.assessment import StudentAssessment, student_view
from app.services.markdown_text import escape_markdown


@dataclass(frozen=True)
class Submission:
    on: date
    text: str


@dataclass(frozen=True)
class FeedbackShown:
    on: date
    text: str
    reply: str | None


@dataclass
class Entry:
    module: Module
    reflection: Reflection
    class_name: str | None
    submissions: list[Submission]
    feedback: list[FeedbackShown] = field(default_factory=list)
    assessment: StudentAssessment | None = None

    @property
    def latest(self) -> Submission:
        return self.submissions[-1]


@dataclass
class ModuleEntries:
    module: Module
    entries: list[Entry]


@dataclass(frozen=True)
class GrowthPoint:
    """One assessment in time, for the growth overview: the day, where, and the rank on the rubric."""

    on: date
    entry: Entry
    level: Level
    rank: int
    of: int


@dataclass
class Portfolio:
    user: User
    modules: list[ModuleEntries]
    growth: list[GrowthPoint]

    @property
    def count(self) -> int:
        return sum(len(m.entries) for m in self.modules)


def portfolio(session: Session, *, user: User, catalogue: Catalogue) -> Portfolio:
    """Every submitted reflection of this student in a module that still exists, in catalogue order."""
    answers = list(
        session.exec(
            select(Answer)
            .where(col(Answer.user_id) == user.id, col(Answer.submitted_at).is_not(None))
            .order_by(col(Answer.id))
        )
    )
    ids = [a.id for a in answers]
    revisions: dict[int, list[AnswerRevision]] = defaultdict(list)
    feedback: dict[int, list[Feedback]] = defaultdict(list)
    assessments: dict[int, list[Assessment]] = defaultdict(list)
    names: dict[int, str] = {}
    if ids:
        for revision in session.exec(
            select(AnswerRevision).where(col(AnswerRevision.answer_id).in_(ids)).order_by(col(AnswerRevision.id))
        ):
            revisions[revision.answer_id].append(revision)
        for item in session.exec(select(Feedback).where(col(Feedback.answer_id).in_(ids)).order_by(col(Feedback.id))):
            feedback[item.answer_id].append(item)
        for row in session.exec(
            select(Assessment).where(col(Assessment.answer_id).in_(ids)).order_by(col(Assessment.id))
        ):
            assessments[row.answer_id].append(row)
        class_ids = {a.class_id for a in answers if a.class_id}
        if class_ids:
            names = {
                stored_id(c): c.name
                for c in session.exec(select(CourseClass).where(col(CourseClass.id).in_(class_ids)))
            }
    by_module: dict[str, list[Entry]] = defaultdict(list)
    growth: list[GrowthPoint] = []
    for answer in answers:
        answer_id = stored_id(answer)
        module = catalogue.get(answer.module_slug)
        reflection = module.reflections.get(answer.prompt_id) if module else None
        if module is None or reflection is None or not revisions[answer_id]:
            continue
        latest_revision = revisions[answer_id][-1]
        entry = Entry(
            module,
            reflection,
            names.get(answer.class_id) if answer.class_id else None,
            [Submission(school_day(r.submitted_at), r.text) for r in revisions[answer_id]],
            [FeedbackShown(school_day(f.created_at), f.text, f.reply_text) for f in feedback[answer_id]],
            student_view(catalogue, module, reflection.id, assessments[answer_id], stored_id(latest_revision)),
        )
        by_module[module.slug].append(entry)
        if entry.assessment is not None:
            on = entry.assessment.on
            growth.extend(
                GrowthPoint(on, entry, shown.level, shown.rank, shown.of) for shown in entry.assessment.levels
            )
    modules = []
    for module in catalogue.ordered():
        entries = by_module.get(module.slug)
        if entries:
            order = list(module.reflections)
            entries.sort(key=lambda e: order.index(e.reflection.id))
            modules.append(ModuleEntries(module, entries))
    growth.sort(key=lambda point: (point.on, point.entry.module.order, point.entry.reflection.id))
    return Portfolio(user, modules, growth)


def markdown_files(data: Portfolio, *, lang: str = "nl") -> dict[str, str]:
    """One Markdown file per module and a README: the student's text as text (never as Markdown structure)."""
    # Babel does not read _() inside f-strings: every translated text is its own expression.
    class_label, level_label, feedback_label = _("Class"), _("Level"), _("Feedback")
    reply_label, untitled = _("Your reply"), _("Reflection question")
    files: dict[str, str] = {}
    for item in data.modules:
        lines = [f"# {item.module.title}", ""]
        for entry in item.entries:
            lines += [f"## {entry.reflection.title or untitled}", ""]
            if entry.class_name:
                lines += [f"{class_label}: {escape_markdown(entry.class_name)}", ""]
            submitted = _("Submitted on %(date)s") % {"date": entry.latest.on.isoformat()}
            lines += [f"### {submitted}", "", escape_markdown(entry.latest.text), ""]
            if len(entry.submissions) > 1:
                earlier = _("Earlier submissions: %(dates)s") % {
                    "dates": ", ".join(s.on.isoformat() for s in entry.submissions[:-1])
                }
                lines += [f"_{earlier}_", ""]
            if entry.assessment is not None:
                lines += [f"### {level_label} · {entry.assessment.rubric.label(lang)}", ""]
                for shown in entry.assessment.levels:
                    rank = _("level %(rank)s of %(of)s") % {"rank": shown.rank, "of": shown.of}
                    lines += [f"- **{shown.criterion.label(lang)}**: {shown.level.label(lang)} ({rank})"]
                lines += [""]
            for given in entry.feedback:
                lines += [f"### {feedback_label} · {given.on.isoformat()}", "", escape_markdown(given.text), ""]
                if given.reply:
                    lines += [f"#### {reply_label}", "", escape_markdown(given.reply), ""]
        files[f"{item.module.slug}.md"] = "\n".join(lines).rstrip() + "\n"
    title, over_time = _("My reflections"), _("Levels over time")
    readme = [
        f"# {title}",
        "",
        escape_markdown(data.user.display_name),
        "",
        ngettext(
            "%(num)s submitted reflection, one file per module.",
            "%(num)s submitted reflections, one file per module.",
            data.count,
        )
        % {"num": data.count},
        "",
    ]
    if data.growth:
        readme += [f"## {over_time}", ""]
        readme += [
            f"- {point.on.isoformat()} · {point.entry.module.title} · "
            f"{point.entry.reflection.title or point.entry.reflection.id}: {point.level.label(lang)} "
            f"({point.rank}/{point.of})"
            for point in data.growth
        ]
        readme += [""]
    files["README.md"] = "\n".join(readme).rstrip() + "\n"
    return files


def zip_bytes(data: Portfolio, *, lang: str = "nl") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in markdown_files(data, lang=lang).items():
            archive.writestr(f"portfolio/{name}", content)
    return buffer.getvalue()
