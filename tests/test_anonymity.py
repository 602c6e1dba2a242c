"""Anonymity holds everywhere: no review page, partial, link, attribute, export or log line names a student.

Students with distinctive names and addresses submit through the student service; a lecturer then
walks every review page and export, gives feedback and marks answers (plain and htmx), the students
reply, and the walk is repeated. Their answers must be there; their names, email addresses and
database ids (of the account, the answer, the revision and the feedback) must not be, anywhere.
"""

from __future__ import annotations

import logging
import re
from collections import deque

from sqlmodel import select

from app.models import Answer, AnswerRevision, Feedback, Role, User, utcnow
from app.services import classes, reflections
from tests.factories import assign, csrf, finish_walk, first_module, login, make_class, make_user

STUDENTS = [
    ("Xandrikus Quellenbeek", "xq123@school.test"),
    ("Ysoldina Vranckaert", "yv456@school.test"),
    ("Zebedeus Mombaerts", "zm789@school.test"),
    ("Wilhelmina Tjoenkens", "wt314@school.test"),
    ("Quirijntje Abbeloos", "qa271@school.test"),
    ("Ottoline Haezebrouck", "oh828@school.test"),
]
PADDING = 1000  # rows before the students' own, so their ids are distinctive four-digit numbers


def _pad_id_sequences(session, module) -> None:
    """Make ids of users, answers, revisions and feedback start above PADDING (cheap bulk rows)."""
    fillers = [
        User(
            email=f"filler-{n}@school.test",
            display_name=f"Filler {n}",
            role=Role.STUDENT.value,
            password_hash="not-a-password-hash",
        )
        for n in range(PADDING)
    ]
    session.add_all(fillers)
    session.flush()
    prompt_id = list(module.reflections)[-1]
    answers = [
        Answer(user_id=u.id, module_slug=module.slug, prompt_id=prompt_id, text="filler", version=1) for u in fillers
    ]
    session.add_all(answers)
    session.flush()
    revisions = [AnswerRevision(answer_id=a.id, text="filler", module_version="0", prompt_hash="0") for a in answers]
    session.add_all(revisions)
    session.flush()
    filler_class = classes.create_class(session, name="Filler class", lecturer=make_user(session, role=Role.LECTURER))
    session.add_all(
        [Feedback(answer_id=r.answer_id, revision_id=r.id, class_id=filler_class.id, text="filler") for r in revisions]
    )
    session.commit()


def _words(marker: str, count: int) -> str:
    return f"{marker} " + " ".join(f"gedachte{n}" for n in range(count))


def _leaks(text: str, students: list[User], ids: set[int]) -> list[str]:
    found = []
    lowered = text.lower()
    for student in students:
        found.extend(
            piece
            for piece in [
                student.display_name,
                student.email,
                student.email.split("@")[0],
                *student.display_name.split(),
            ]
            if piece.lower() in lowered
        )
    for number in ids:
        for pattern in (
            rf"/{number}(?!\d)",
            rf'="{number}"',
            rf">\s*{number}\s*<",
            rf"'{number}'",
            rf"[=&?]{number}(?!\d)",
            rf"[-_#]{number}(?![\w-])",
        ):
            match = re.search(pattern, text)
            if match:
                found.append(f"id {number} as {match.group(0)!r}")
    return found


def test_no_review_page_partial_export_or_log_line_reveals_a_student(app, client, session, caplog):
    module = first_module(app)
    prompt_ids = list(module.reflections)[:2]
    _pad_id_sequences(session, module)
    lecturer = make_user(session, role=Role.LECTURER, name="Lena Lector")
    course_class = make_class(session, lecturer=lecturer)
    # Issue 12: answers come in whole rounds of k; with k = 3 all six students' answers are shown.
    course_class.min_group_size = 3
    session.add(course_class)
    session.commit()
    assign(session, course_class, module)
    students = []
    for name, email in STUDENTS:
        student = make_user(session, name=name, email=email)
        classes.enrol(session, course_class=course_class, student=student)
        students.append(student)
    markers = {}
    for n, student in enumerate(students):
        for prompt_id in prompt_ids:
            reflection = module.reflections[prompt_id]
            markers[(student.id, prompt_id)] = marker = f"Antwoordtekst{n}{prompt_id[-4:]}"
            result = reflections.submit(
                session,
                user_id=student.id,
                module=module,
                prompt=reflection,
                text=_words(marker, reflection.min_words + 5),
                base_version=0,
            )
            assert result.answer.submitted_at is not None
        finish_walk(session, student, module, module.branching_vignettes()[0], [n % 2])
    session.commit()
    ids = {student.id for student in students}
    answers = session.exec(select(Answer).where(Answer.user_id.in_(ids))).all()
    ids |= {answer.id for answer in answers}
    ids |= {
        r.id for r in session.exec(select(AnswerRevision).where(AnswerRevision.answer_id.in_([a.id for a in answers])))
    }
    assert min(ids) > PADDING

    login(client, lecturer)
    base = f"/classes/{course_class.id}/review"
    access_log: list[str] = []
    responses: dict[str, str] = {}

    def fetch(method: str, url: str, **kwargs):
        response = client.request(method, url, follow_redirects=False, **kwargs)
        # What a server access log (uvicorn's, or a proxy's) would record for this request.
        access_log.append(
            f'127.0.0.1:50000 - "{method} {url} HTTP/1.1" {response.status_code} '
            f"{response.headers.get('location', '')} {response.headers.get('content-disposition', '')}"
        )
        responses[f"{method} {url} {kwargs.get('headers', {})}"] = response.text
        return response

    def crawl() -> set[str]:
        seen, queue = set(), deque([base])
        while queue:
            url = queue.popleft()
            if url in seen:
                continue
            seen.add(url)
            response = fetch("GET", url)
            assert response.status_code == 200, url
            fetch("GET", url, headers={"HX-Request": "true"})
            for link in re.findall(r'(?:href|hx-get)="([^"#]+)', response.text):
                link = link.replace("&amp;", "&")
                if link.startswith(base) and link not in seen:
                    queue.append(link)
        return seen

    with caplog.at_level(logging.DEBUG):
        first_walk = crawl()
        prompt_urls = [f"{base}/{module.slug}/{prompt_id}" for prompt_id in prompt_ids]
        assert {base, f"{base}/{module.slug}", *prompt_urls} <= first_walk
        assert {f"{url}/export.md" for url in prompt_urls} <= first_walk
        assert {f"{url}/export.csv" for url in prompt_urls} <= first_walk

        # Feedback and marks, without and with htmx, and one form error.
        for url in prompt_urls:
            page = fetch("GET", url).text
            refs = re.findall(r'name="ref" value="([0-9a-f]{16})"', page)[::2]
            assert len(refs) == len(students)
            token = csrf(client, url)
            fetch("POST", f"{url}/feedback", data={"ref": refs[0], "feedback": "Plain feedback.", "csrf_token": token})
            fetch(
                "POST",
                f"{url}/feedback",
                data={"ref": refs[1], "feedback": "Htmx feedback."},
                headers={"HX-Request": "true", "X-CSRF-Token": token},
            )
            # Issue 12: replies are shown in rounds of k (3 here), so three answers get feedback.
            fetch("POST", f"{url}/feedback", data={"ref": refs[5], "feedback": "Third feedback.", "csrf_token": token})
            fetch("POST", f"{url}/feedback", data={"ref": refs[2], "feedback": "", "csrf_token": token})
            fetch(
                "POST",
                f"{url}/feedback",
                data={"ref": refs[2], "feedback": ""},
                headers={"HX-Request": "true", "X-CSRF-Token": token},
            )
            fetch("POST", f"{url}/discuss", data={"ref": refs[3], "mark": "1", "csrf_token": token})
            fetch(
                "POST",
                f"{url}/discuss",
                data={"ref": refs[4], "mark": "1"},
                headers={"HX-Request": "true", "X-CSRF-Token": token},
            )
        session.commit()
        feedback_rows = session.exec(select(Feedback).where(Feedback.class_id == course_class.id)).all()
        assert len(feedback_rows) == 3 * len(prompt_urls)
        ids |= {row.id for row in feedback_rows}
        for row in feedback_rows:  # the students reply, through the student service
            owner = session.exec(select(Answer.user_id).where(Answer.id == row.answer_id)).one()
            reflections.reply_to_feedback(
                session, user_id=owner, feedback_id=row.id, text=f"Reply to feedback {utcnow():%H%M%S%f}."
            )
        second_walk = crawl()
        # Feedback opens a conversation page per answer (issue 21), reached by the answer's opaque ref.
        new_pages = second_walk - first_walk
        assert first_walk <= second_walk and len(new_pages) == len(feedback_rows)
        assert all(
            re.fullmatch(rf"{re.escape(base)}/[^/]+/[^/]+/dialogue\?ref=[0-9a-f]{{16}}", url) for url in new_pages
        )

    # The answers are there...
    pages = "\n".join(text for key, text in responses.items() if key.startswith("GET"))
    for (_user_id, prompt_id), marker in markers.items():
        assert marker in responses[f"GET {base}/{module.slug}/{prompt_id} {{}}"]
        assert marker in responses[f"GET {base}/{module.slug}/{prompt_id}/export.md {{}}"]
        assert marker in responses[f"GET {base}/{module.slug}/{prompt_id}/export.csv {{}}"]
    assert "Reply to feedback" in pages and "Plain feedback." in pages
    assert "Based on the latest walk of 6 students." in pages

    # ...and nothing points at who wrote them.
    problems = []
    for key, text in responses.items():
        problems += [f"{key}: {leak}" for leak in _leaks(text, students, ids)]
    for line in access_log:
        problems += [f"access log {line!r}: {leak}" for leak in _leaks(line, students, ids)]
    for record in caplog.records:
        line = f"{record.name} {record.getMessage()} {getattr(record, 'fields', '')}"
        problems += [f"log {line!r}: {leak}" for leak in _leaks(line, students, ids)]
    assert len(caplog.records) > 0 and len(access_log) > 20
    assert not problems, "\n".join(problems[:40])
