"""Search (issue 21): module content on SQLite FTS5 and PostgreSQL full-text; classes and students for
lecturers only; never students' answers."""

from __future__ import annotations

from app.models import Role
from app.services import classes, search
from tests.factories import first_module, first_prompt, login, make_class, make_user
from tests.pages import one, select, texts
from tests.test_notifications import LONG


def _a_word_of(module) -> tuple[str, str]:
    section = module.sections[1] if len(module.sections) > 1 else module.sections[0]
    word = max(search.words(search.section_text(section)), key=len)
    return section.id, word


def test_content_search_finds_sections_by_word_and_word_beginning(app, client):
    module = first_module(app)
    section_id, word = _a_word_of(module)
    hits = search.search_content(app.state.engine, app.state.catalogue, word)
    assert any(h.module_slug == module.slug and h.section_id == section_id for h in hits)
    prefix = search.search_content(app.state.engine, app.state.catalogue, word[:-2])
    assert any(h.section_id == section_id for h in prefix)
    page = client.get("/search", params={"q": word})
    assert page.status_code == 200
    [hit] = [
        item
        for item in select(page.text, "section ol.search-hits > li")
        if one(item, ":scope > a")["href"].startswith(f"/modules/{module.slug}/{section_id}")
    ]
    assert texts(hit, "p.search-snippet mark")  # the words found, highlighted
    within = client.get("/search", params={"q": word, "module": module.slug}).text
    assert module.title in within
    # Odd input is just words: no syntax error from either engine.
    for odd in ['"', "a AND (", "NEAR(", "*", "'; drop table user;--", "ë" * 300]:
        assert client.get("/search", params={"q": odd}).status_code == 200
    assert search.search_content(app.state.engine, app.state.catalogue, "zzqxvnotaword") == []


def test_answers_are_never_searched_and_students_only_for_their_lecturers(app, client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    course_class = make_class(session, lecturer=lecturer, name="Klas Zonnebloem")
    module = first_module(app)
    student = make_user(session, name="Fenna Vandenberghe")
    classes.enrol(session, course_class=course_class, student=student)
    classes.assign(
        session, course_class=course_class, module_slug=module.slug, due_on=__import__("datetime").date(2099, 1, 1)
    )
    session.commit()
    secret_word = "kwispelstaartgeheim"
    session.commit()
    from app.services import reflections

    reflections.submit(
        session,
        user_id=student.id,
        module=module,
        prompt=module.reflections[first_prompt(module)],
        text=LONG + " " + secret_word,
        base_version=0,
    )
    session.commit()
    assert search.search_content(app.state.engine, app.state.catalogue, secret_word) == []
    login(client, lecturer)
    page = client.get("/search", params={"q": secret_word}).text
    assert "Fenna" not in page and "Nothing found" in page
    page = client.get("/search", params={"q": "vandenberg"}).text
    assert "Fenna Vandenberghe" in page and "Klas Zonnebloem" in page
    assert "Klas Zonnebloem" in client.get("/search", params={"q": "zonneb"}).text
    other = make_user(session, role=Role.LECTURER)
    login(client, other)
    assert "Fenna" not in client.get("/search", params={"q": "vandenberg"}).text
    login(client, student)
    assert "Fenna Vandenberghe" not in client.get("/search", params={"q": "vandenberg"}).text.split("<main")[1]
