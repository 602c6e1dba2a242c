"""Anonymised review: what the students of a class submitted for it, under pseudonyms, in rounds of k.

Everything a review page, partial or export shows comes from here, and nothing here hands a name,
email address or database id to a template: answers are referred to by `answer_ref` tokens, students
by a pseudonym (per prompt unless the class chose one across prompts), times by the day their round
closed. See docs/privacy.md, section 1, for the property these functions are built to. Each function uses a fixed number of queries,
whatever the number of students.

The package, by part: `prompt` (one prompt's review, refs, feedback, marks), `exports` (CSV and Markdown),
`assignment` (the overview and the distributions of case choices), `common` (what they share). Callers use
the names below, from `app.services.review`.
"""

from __future__ import annotations

from app.services.review.assignment import (
    AssignmentReview,
    ChoiceCount,
    EndingCount,
    PromptSummary,
    StepDistribution,
    VignetteDistribution,
    assignment_review,
    vignette_distributions,
)
from app.services.review.common import ANSWERS_PER_PAGE, FEEDBACK_LIMIT, ReviewError, local_day
from app.services.review.exports import export_csv, export_markdown
from app.services.review.prompt import (
    FeedbackItem,
    KGate,
    PromptReview,
    ReviewedAnswer,
    give_feedback,
    prompt_review,
    resolve_ref,
    set_discussion_mark,
)

__all__ = [
    "ANSWERS_PER_PAGE",
    "FEEDBACK_LIMIT",
    "AssignmentReview",
    "ChoiceCount",
    "EndingCount",
    "FeedbackItem",
    "KGate",
    "PromptReview",
    "PromptSummary",
    "ReviewError",
    "ReviewedAnswer",
    "StepDistribution",
    "VignetteDistribution",
    "assignment_review",
    "export_csv",
    "export_markdown",
    "give_feedback",
    "local_day",
    "prompt_review",
    "resolve_ref",
    "set_discussion_mark",
    "vignette_distributions",
]
