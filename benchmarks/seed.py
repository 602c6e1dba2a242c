"""Seed a realistic institution for the benchmarks, fast: bulk inserts of rows built from the models.

Full size: 2,000 students in 59 classes plus a lecture-hall cohort of 300 (60 classes), 30 lecturers,
every published module assigned to every class, 20 reflections per student (40,000 answers) of
which about 60% submitted, with one or two revisions each, section visits, vignette walks, check
answers, and some feedback. Every student and the lecturers get a login session with a known token
(only its hash is stored, as the app does), so the benchmark needs no 2,000 argon2 logins.

Run alone: `python benchmarks/seed.py sqlite:///var/bench/nabij.sqlite3 [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import PROJECT_ROOT
from app.config import Settings
from app.content.catalogue import load_catalogue
from app.db import make_engine
from app.migrations import upgrade
from app.models import (
    Answer,
    AnswerRevision,
    Assignment,
    CheckAnswer,
    ClassLecturer,
    CourseClass,
    DiscussionMark,
    Enrolment,
    Feedback,
    SectionVisit,
    User,
    UserSession,
    VignetteRun,
    utcnow,
)
from app.services.classes import JOIN_ALPHABET, JOIN_CODE_LENGTH
from app.services.passwords import hash_password
from app.services.sessions import token_hash

# The servers' NABIJ_SECRET_KEY in run.py and profile_requests.py: the stored texts' data key derives from it.
SECRET_KEY = "benchmark-secret-key-not-for-production-0123456789"

PASSWORD = "benchmark-password-2026"
CHUNK = 5000


@dataclass(frozen=True)
class Size:
    students: int
    classes: int  # including the lecture-hall cohort
    cohort: int  # students in the lecture-hall class (the review page and the progress matrix)
    lecturers: int
    answers_per_student: int


FULL = Size(students=2000, classes=60, cohort=300, lecturers=30, answers_per_student=20)
QUICK = Size(students=200, classes=8, cohort=60, lecturers=4, answers_per_student=8)

SENTENCES = [
    "Toen Yusuf wegkeek, dacht ik eerst dat hij geen contact wilde.",
    "Achteraf zie ik dat ik vooral mijn eigen onzekerheid invulde.",
    "Nabijheid betekent voor mij dat ik er ben, ook als het schuurt.",
    "In de leefgroep merkte ik hoe snel ik een oordeel klaar had.",
    "Mijn begeleider vroeg wat ik nodig had om rustig te blijven.",
    "Ik wil leren om een grens te stellen zonder de relatie te verliezen.",
    "Het gesprek met Lina liet zien dat voorspelbaarheid veiligheid geeft.",
    "Professionele nabijheid vraagt dat ik mijn eigen reacties ken.",
    "De jongere testte of ik zou blijven, en dat deed ik.",
    "Volgende keer benoem ik eerder wat ik zie in plaats van te raden.",
    "Ik merkte spanning tussen het protocol en wat de jongere nodig had.",
    "Samen met het team hebben we afgesproken hoe we dit bespreekbaar maken.",
    "Wat mij raakte was hoe klein het gebaar was dat het verschil maakte.",
    "Ik besef dat afstand houden soms vooral mijzelf beschermt.",
]


def reflection_text(rng: random.Random, words: int) -> str:
    parts, count = [], 0
    while count < words:
        sentence = rng.choice(SENTENCES)
        parts.append(sentence)
        count += len(sentence.split())
    paragraphs = [" ".join(parts[i : i + 4]) for i in range(0, len(parts), 4)]
    return "\n\n".join(paragraphs)


def reset_database(url: str) -> None:
    """An empty database at the latest migration (the benchmark's own: never the test database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        name = parsed.database
        if not name or name in {"postgres", "template0", "template1"}:
            raise SystemExit(f"refusing to reset the PostgreSQL database {name!r}")
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    upgrade(Settings(database_url=url, var_dir=PROJECT_ROOT / "var"))


def _rows(model, values: list[dict]) -> list[dict]:
    """Rows with the model's defaults filled in, so new columns with defaults need no change here."""
    columns = {column.name for column in model.__table__.columns}
    return [{k: v for k, v in model(**row).model_dump().items() if k in columns} for row in values]


def _insert(connection, model, values: list[dict], *, with_defaults: bool = True) -> int:
    rows = _rows(model, values) if with_defaults else values
    for start in range(0, len(rows), CHUNK):
        connection.execute(model.__table__.insert(), rows[start : start + CHUNK])
    return len(rows)


def seed(url: str, *, quick: bool = False, seed_value: int = 2026, log=print) -> dict:
    """Reset and fill the database at `url`; returns what the benchmark needs (tokens, ids, targets)."""
    size = QUICK if quick else FULL
    rng = random.Random(seed_value)
    started = time.perf_counter()
    reset_database(url)
    catalogue = load_catalogue(PROJECT_ROOT / "modules")
    modules = catalogue.published()
    prompts = [(m, p) for m in modules for p in m.reflections.values()]
    review_module, review_prompt = prompts[0]
    now = utcnow()
    today = now.date()
    password_hash = hash_password(PASSWORD)  # one argon2 hash, shared: logins are not what is measured

    admin_id = 1
    lecturer_ids = list(range(2, 2 + size.lecturers))
    student_ids = list(range(2 + size.lecturers, 2 + size.lecturers + size.students))
    users = [
        {
            "id": admin_id,
            "email": "admin@bench.test",
            "display_name": "Bench Beheer",
            "role": "admin",
            "password_hash": password_hash,
        }
    ]
    users += [
        {
            "id": uid,
            "email": f"docent{n}@bench.test",
            "display_name": f"Docent {n}",
            "role": "lecturer",
            "password_hash": password_hash,
        }
        for n, uid in enumerate(lecturer_ids)
    ]
    users += [
        {
            "id": uid,
            "email": f"student{n}@student.bench.test",
            "display_name": f"Student {n:04d}",
            "role": "student",
            "password_hash": password_hash,
            "locale": "nl",
            # only verified accounts' answers enter a review (app.services.review)
            "email_verified_at": now - timedelta(days=90),
        }
        for n, uid in enumerate(student_ids)
    ]

    sessions, tokens = [], {}
    for uid in [admin_id, *lecturer_ids, *student_ids]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        tokens[uid] = (token, csrf)
        sessions.append(
            {
                "id": len(sessions) + 1,
                "token_hash": token_hash(token),
                "user_id": uid,
                "csrf_token": csrf,
                "created_at": now,
                "last_seen_at": now,
                "user_agent": "nabij-benchmark",
            }
        )

    codes: set[str] = set()
    while len(codes) < size.classes:
        codes.add("".join(rng.choice(JOIN_ALPHABET) for _ in range(JOIN_CODE_LENGTH)))
    codes_list = sorted(codes)
    classes = [
        {
            "id": 1,
            "name": "Hoorcollege Professionele nabijheid",
            "programme": "Bachelor Sociaal Werk",
            "academic_year": "2026-2027",
            "join_code": codes_list[0],
            "min_group_size": 5,
        }
    ]
    classes += [
        {
            "id": c,
            "name": f"SW{1 + c % 3}{chr(65 + c % 26)}-{c:02d}",
            "programme": "Bachelor Sociaal Werk",
            "academic_year": "2026-2027",
            "join_code": codes_list[c - 1],
            "min_group_size": 5,
        }
        for c in range(2, size.classes + 1)
    ]
    class_lecturers = [{"class_id": 1, "user_id": lecturer_ids[0]}]
    class_lecturers += [
        {"class_id": c, "user_id": lecturer_ids[c % size.lecturers]} for c in range(2, size.classes + 1)
    ]
    small = list(range(2, size.classes + 1))
    cohort = student_ids[: size.cohort]
    # A student writes for the class they joined last that has the module (app.services.writing): the
    # cohort joined the lecture hall after their own small class, so their answers are the cohort's.
    enrolments = [{"class_id": 1, "user_id": uid, "created_at": now - timedelta(days=30)} for uid in cohort]
    small_of = {uid: small[n % len(small)] for n, uid in enumerate(student_ids)}
    enrolments += [
        {"class_id": small_of[uid], "user_id": uid, "created_at": now - timedelta(days=60)} for uid in student_ids
    ]
    assignments = []
    for c in range(1, size.classes + 1):
        for i, module in enumerate(modules):
            assignments.append(
                {
                    "id": len(assignments) + 1,
                    "class_id": c,
                    "module_slug": module.slug,
                    "due_on": today + timedelta(days=14 * i - 21),
                }
            )

    answers, revisions, visits, runs, check_rows, feedback, marks = [], [], [], [], [], [], []
    autosave_keys: dict[int, list[list[str]]] = {}
    cohort_set = set(cohort)
    for uid in student_ids:
        chosen = rng.sample(prompts, min(size.answers_per_student, len(prompts)))
        if uid in cohort_set and (review_module, review_prompt) not in chosen:
            chosen[0] = (review_module, review_prompt)
        autosave_keys[uid] = []
        for module, prompt in chosen:
            answer_id = len(answers) + 1
            body = reflection_text(rng, rng.randint(60, 220))
            updated = now - timedelta(hours=rng.randint(1, 24 * 40))
            submitted = (uid in cohort_set and prompt is review_prompt) or rng.random() < 0.6
            answers.append(
                {
                    "id": answer_id,
                    "user_id": uid,
                    "class_id": 1 if uid in cohort_set else small_of[uid],
                    "module_slug": module.slug,
                    "prompt_id": prompt.id,
                    "text": body,
                    "version": rng.randint(1, 12),
                    "module_version": module.version,
                    "prompt_hash": prompt.prompt_hash,
                    "created_at": updated - timedelta(days=2),
                    "updated_at": updated,
                    "submitted_at": updated if submitted else None,
                }
            )
            autosave_keys[uid].append([module.slug, prompt.id])
            if submitted:
                if rng.random() < 0.3:
                    revisions.append(
                        {
                            "id": len(revisions) + 1,
                            "answer_id": answer_id,
                            "text": body[: len(body) // 2],
                            "module_version": module.version,
                            "prompt_hash": prompt.prompt_hash,
                            "submitted_at": updated - timedelta(days=1),
                        }
                    )
                revisions.append(
                    {
                        "id": len(revisions) + 1,
                        "answer_id": answer_id,
                        "text": body,
                        "module_version": module.version,
                        "prompt_hash": prompt.prompt_hash,
                        "submitted_at": updated,
                    }
                )
                if prompt is review_prompt and uid in cohort_set and rng.random() < 0.15:
                    feedback.append(
                        {
                            "id": len(feedback) + 1,
                            "answer_id": answer_id,
                            "revision_id": len(revisions),
                            "class_id": 1,
                            "author_id": lecturer_ids[0],
                            "text": "Mooi hoe je je eigen reactie benoemt. Wat deed je daarna?",
                            "created_at": updated + timedelta(hours=5),
                        }
                    )
                if prompt is review_prompt and uid in cohort_set and rng.random() < 0.03:
                    marks.append({"class_id": 1, "answer_id": answer_id})
        for module in rng.sample(modules, min(3, len(modules))):
            visits.extend(
                {
                    "user_id": uid,
                    "module_slug": module.slug,
                    "section_id": section.id,
                    "visited_at": now - timedelta(hours=rng.randint(1, 600)),
                }
                for section in module.sections[: rng.randint(1, len(module.sections))]
            )
            for vignette in list(module.branching_vignettes())[:1]:
                path, ending = _walk(vignette)
                runs.append(
                    {
                        "id": len(runs) + 1,
                        "user_id": uid,
                        "module_slug": module.slug,
                        "vignette_id": vignette.id,
                        "path": json.dumps(path),
                        "ending_id": ending,
                        "started_at": now - timedelta(days=3),
                        "finished_at": now - timedelta(days=3) if ending else None,
                    }
                )
            for check in list(module.checks.values())[:2]:
                chosen_options = sorted(check.correct_indexes) if rng.random() < 0.7 else [0]
                check_rows.append(
                    {
                        "user_id": uid,
                        "module_slug": module.slug,
                        "check_id": check.id,
                        "selected": ",".join(map(str, chosen_options)),
                        "correct": frozenset(chosen_options) == check.correct_indexes,
                        "answered_at": now - timedelta(days=2),
                    }
                )

    # Texts are stored encrypted (app/crypto.py) under a key derived from the secret: the one the
    # benchmark servers get (run.py, profile_requests.py), or they would refuse to start.
    engine = make_engine(Settings(database_url=url, var_dir=PROJECT_ROOT / "var", secret_key=SECRET_KEY))
    counts = {}
    with engine.begin() as connection:
        for model, values in [
            (User, users),
            (UserSession, sessions),
            (CourseClass, classes),
            (ClassLecturer, class_lecturers),
            (Enrolment, enrolments),
            (Assignment, assignments),
            (Answer, answers),
            (AnswerRevision, revisions),
            (Feedback, feedback),
            (DiscussionMark, marks),
            (SectionVisit, visits),
            (VignetteRun, runs),
            (CheckAnswer, check_rows),
        ]:
            counts[model.__tablename__] = _insert(connection, model, values)
        if engine.dialect.name == "postgresql":
            for model in (User, UserSession, CourseClass, Assignment, Answer, AnswerRevision, Feedback, VignetteRun):
                table = model.__tablename__
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))'
                    )
                )
    store_progress_summaries(engine, modules)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
    engine.dispose()
    seconds = time.perf_counter() - started
    log(
        f"seeded {make_url(url).get_backend_name()} in {seconds:.1f} s: "
        + ", ".join(f"{n} {t}" for t, n in counts.items())
    )
    return {
        "size": asdict(size),
        "counts": counts,
        "seconds": round(seconds, 1),
        "password": PASSWORD,
        "students": [
            {"id": uid, "token": tokens[uid][0], "csrf": tokens[uid][1], "prompts": autosave_keys[uid]}
            for uid in student_ids
        ],
        "lecturer": {"id": lecturer_ids[0], "token": tokens[lecturer_ids[0]][0], "csrf": tokens[lecturer_ids[0]][1]},
        "admin": {"id": admin_id, "token": tokens[admin_id][0], "csrf": tokens[admin_id][1]},
        "cohort_class_id": 1,
        "cohort": size.cohort,
        "review": {"slug": review_module.slug, "prompt_id": review_prompt.id},
        "modules": [{"slug": m.slug, "sections": [s.id for s in m.sections]} for m in modules],
    }


def store_progress_summaries(engine, modules, *, batch: int = 500) -> None:
    """Every student's stored progress counts, as a running installation has them: each step a student
    took refreshed them (app/services/progress_summary.py). The bulk load above only marked them stale."""
    from sqlmodel import Session, select

    from app.models import Role, User
    from app.services import progress_summary

    with Session(engine) as session:
        students = list(session.exec(select(User.id).where(User.role == Role.STUDENT).order_by(User.id)))
        for start in range(0, len(students), batch):
            progress_summary.refresh(session, user_ids=students[start : start + batch], modules=modules)
        session.commit()


def _walk(vignette) -> tuple[list[list], str | None]:
    """The path of always taking the first choice, to an ending (or as far as it goes)."""
    path, step, seen = [], vignette.steps.get(vignette.start or ""), set()
    while step is not None and not step.is_ending and step.choices and step.id not in seen:
        seen.add(step.id)
        path.append([step.id, 0])
        step = vignette.steps.get(step.choices[0].target)
    return path, (step.id if step is not None and step.is_ending else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    info = seed(args.database_url, quick=args.quick)
    json.dump({k: v for k, v in info.items() if k != "students"}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
