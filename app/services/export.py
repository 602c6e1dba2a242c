"""A student's own data (GDPR art. 15/20): every answer, revision, choice and feedback, as JSON or Markdown."""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict

from sqlmodel import Session, col, select

from app.content.catalogue import Catalogue
from app.models import Answer, AnswerRevision, CheckAnswer, Feedback, User, VignetteRun, aware, utcnow
from app.services.checks import parse_selection
from app.services.vignettes import decode_path


def _when(value) -> str | None:
    return aware(value).isoformat() if value else None


def student_data(session: Session, *, user: User, catalogue: Catalogue) -> dict:
    modules: dict[str, dict] = defaultdict(lambda: {"reflections": [], "vignettes": [], "checks": []})
    answers = list(session.exec(select(Answer).where(Answer.user_id == user.id).order_by(Answer.id)))
    ids = [a.id for a in answers]
    revisions, feedback = defaultdict(list), defaultdict(list)
    if ids:
        for revision in session.exec(select(AnswerRevision).where(col(AnswerRevision.answer_id).in_(ids))
                                     .order_by(AnswerRevision.id)):
            revisions[revision.answer_id].append({"text": revision.text, "submitted_at": _when(revision.submitted_at),
                                                  "module_version": revision.module_version})
        for item in session.exec(select(Feedback).where(col(Feedback.answer_id).in_(ids)).order_by(Feedback.id)):
            feedback[item.answer_id].append({"feedback": item.text, "given_at": _when(item.created_at),
                                             "your_reply": item.reply_text, "replied_at": _when(item.replied_at)})
    for answer in answers:
        module = catalogue.get(answer.module_slug)
        prompt = module.reflections.get(answer.prompt_id) if module else None
        modules[answer.module_slug]["reflections"].append({
            "prompt_id": answer.prompt_id, "prompt_title": prompt.title if prompt else None,
            "current_text": answer.text, "last_saved_at": _when(answer.updated_at),
            "submissions": revisions[answer.id], "feedback": feedback[answer.id]})
    for run in session.exec(select(VignetteRun).where(VignetteRun.user_id == user.id).order_by(VignetteRun.id)):
        module = catalogue.get(run.module_slug)
        vignette = module.vignettes.get(run.vignette_id) if module else None
        choices = []
        for step_id, index in decode_path(run):
            step = vignette.steps.get(step_id) if vignette else None
            label = step.choices[index].label_text if step and index < len(step.choices) else f"{step_id}#{index}"
            choices.append(label)
        modules[run.module_slug]["vignettes"].append({
            "vignette_id": run.vignette_id, "title": vignette.title if vignette else None, "choices": choices,
            "ending": run.ending_id, "started_at": _when(run.started_at), "finished_at": _when(run.finished_at)})
    for row in session.exec(select(CheckAnswer).where(CheckAnswer.user_id == user.id)):
        module = catalogue.get(row.module_slug)
        check = module.checks.get(row.check_id) if module else None
        modules[row.module_slug]["checks"].append({
            "check_id": row.check_id, "selected": sorted(parse_selection(row.selected)), "correct": row.correct,
            "answered_at": _when(row.answered_at)})
    return {
        "exported_at": utcnow().isoformat(),
        "account": {"name": user.display_name, "email": user.email, "role": user.role},
        "modules": [{"slug": slug, "title": catalogue.get(slug).title if catalogue.get(slug) else slug, **content}
                    for slug, content in sorted(modules.items())],
    }


def markdown_files(data: dict) -> dict[str, str]:
    """One Markdown file per module."""
    files = {}
    for module in data["modules"]:
        lines = [f"# {module['title']}", ""]
        for reflection in module["reflections"]:
            lines += [f"## {reflection['prompt_title'] or reflection['prompt_id']}", "", reflection["current_text"], ""]
            for number, submission in enumerate(reflection["submissions"], start=1):
                lines += [f"### Ingediend ({number}) · {submission['submitted_at']}", "", submission["text"], ""]
            for item in reflection["feedback"]:
                lines += [f"### Feedback · {item['given_at']}", "", item["feedback"], ""]
                if item["your_reply"]:
                    lines += ["#### Jouw reactie", "", item["your_reply"], ""]
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
