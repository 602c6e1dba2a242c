"""A prompt's review as CSV and Markdown: the same answers, pseudonyms and rounds as the page."""

from __future__ import annotations

import csv
import io

from app.i18n import gettext as _
from app.services import assessment as assessing
from app.services import spreadsheet
from app.services.markdown_text import quote_markdown
from app.services.review.prompt import PromptReview

# -- exports ------------------------------------------------------------------------------------


def export_csv(review: PromptReview) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    criteria = list(review.rubric.criteria) if review.rubric else []
    writer.writerow(
        [
            "pseudonym",
            "date",
            "text",
            "earlier_version",
            "discuss",
            *[f"level:{criterion.id}" for criterion in criteria],
        ]
    )
    for answer in review.answers:
        writer.writerow(
            [
                answer.pseudonym,
                answer.submitted_on.isoformat(),
                spreadsheet.cell(answer.text),
                "yes" if answer.earlier_version else "no",
                "yes" if answer.marked else "no",
                *[answer.levels.get(criterion.id, "") for criterion in criteria],
            ]
        )
    return buffer.getvalue()


def export_markdown(review: PromptReview) -> str:
    reflection = review.reflection
    # Babel does not read _() inside f-strings: every translated text is its own expression.
    title = reflection.title or _("Reflection question")
    earlier = _("Written for an earlier version of the prompt.")
    marked = _("Marked to discuss in class.")
    lines = [f"# {title}", "", f"{review.module.title} · {review.course_class.name}", ""]
    lines += [_("%(num)s anonymised answers, in random order.") % {"num": len(review.answers)}, ""]
    for answer in review.answers:
        lines += [f"## {answer.pseudonym} · {answer.submitted_on.isoformat()}", ""]
        if answer.earlier_version:
            lines += [f"_{earlier}_", ""]
        if answer.marked:
            lines += [f"_{marked}_", ""]
        for shown in assessing.shown_levels(review.rubric, answer.levels):
            lines += [
                _("Level (%(criterion)s): %(level)s")
                % {"criterion": shown.criterion.title, "level": shown.level.title},
                "",
            ]
        lines += [quote_markdown(answer.text), ""]  # the student's text as text (app/services/markdown_text.py)
    return "\n".join(lines)
