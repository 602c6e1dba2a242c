""" "Mijn reflecties" (issue 20): every submitted reflection of a student across modules, with level and
feedback over time, and the portfolio export (Markdown in a ZIP, and a printable page)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlmodel import select

from app.models import Answer, Feedback, Role
from app.services import assessment as assessing
from tests import test_assessment
from tests.factories import assign, login, make_user, submit
from tests.pages import one, table_rows, text_of
from tests.pages import select as select_all
from tests.test_assessment import SLUG, own_ref, post_review, student_client

CSS = Path(__file__).resolve().parent.parent / "static" / "nabij.css"

assessing_class = test_assessment.assessing_class  # the fixture, shared with test_assessment.py


def test_a_student_without_submissions_is_told_where_they_will_appear(app, session):
    from tests.factories import make_class

    course_class = make_class(session)
    _student, web = student_client(app, session, course_class)
    page = web.get("/my/reflections")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "You have not submitted a reflection yet." in page.text
    assert one(page.text, 'nav.site-nav a[aria-current="page"]')["href"] == "/my/reflections"  # the nav link


def test_the_page_lists_every_submitted_reflection_across_modules_with_level_and_feedback(
    app, client, session, assessing_class
):
    _lecturer, course_class, module, student, web = assessing_class
    other_module = app.state.catalogue.get("grenzen-van-nabijheid")
    assign(session, course_class, other_module)
    other_prompt = next(iter(other_module.reflections))
    submit(session, student, other_module, other_prompt, "Over grenzen *schreef* ik dit")
    # A draft is not in the portfolio; neither is anyone else's work.
    session.add(
        Answer(
            user_id=student.id,
            class_id=course_class.id,
            module_slug=other_module.slug,
            prompt_id=list(other_module.reflections)[1],
            text="Nog een concept",
            version=1,
        )
    )
    session.commit()
    ref = own_ref(client, course_class, module)
    post_review(client, course_class, module, ref, levels={"diepgang": "beschrijvend"}, feedback="Eerste feedback")
    post_review(client, course_class, module, ref, levels={"diepgang": "dialogisch"})

    page = web.get("/my/reflections").text
    assert "Sams own reflection" in page and "Over grenzen *schreef* ik dit" in page
    assert "Nog een concept" not in page and "Other answer" not in page
    assert page.index(module.title) < page.index(other_module.title)  # catalogue order
    assert "Eerste feedback" in page and "Dialogic reflection" in page and "level 3 of 4" in page
    growth = one(page, 'section.portfolio-growth[aria-labelledby="growth-title"]')
    assert text_of(one(growth, "h2#growth-title")) == "Your levels over time"
    assert "Dialogic reflection (level 3 of 4)" in [row["Level"] for row in table_rows(one(growth, "table"))]
    exports = one(page, "p.export-links")
    assert one(exports, 'a[href="/my/reflections/portfolio.zip"]').has_attr("download")
    assert one(exports, 'a[href="/my/reflections/print"]')
    assert "Lena Lector" not in page  # feedback and levels come without the lecturer's name


def test_the_portfolio_zip_holds_markdown_per_module_with_text_level_and_feedback(client, session, assessing_class):
    _lecturer, course_class, module, _student, web = assessing_class
    ref = own_ref(client, course_class, module)
    post_review(client, course_class, module, ref, levels={"diepgang": "kritisch"}, feedback="Sterk *stuk*")
    response = web.get("/my/reflections/portfolio.zip")
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="nabij-portfolio.zip"' in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["portfolio/README.md", f"portfolio/{SLUG}.md"]
    text = archive.read(f"portfolio/{SLUG}.md").decode()
    assert "Sams own reflection" in text and "Critical reflection" in text and "level 4 of 4" in text
    assert r"Sterk \*stuk\*" in text  # what people wrote goes in as text, not as Markdown
    readme = archive.read("portfolio/README.md").decode()
    assert "Sam Student" in readme and "Levels over time" in readme


def test_the_printable_page_has_print_styles_and_no_links_into_the_app(client, session, assessing_class):
    _lecturer, _course_class, _module, _student, web = assessing_class
    page = web.get("/my/reflections/print").text
    assert one(page, "main#main")["class"] == ["page", "page--print"] and "Sams own reflection" in page
    assert select_all(page, f'[href^="/modules/{SLUG}"]') == []
    css = CSS.read_text()
    assert "@media print" in css and ".no-print" in css


def test_only_students_have_a_portfolio(client, session):
    lecturer = make_user(session, role=Role.LECTURER)
    login(client, lecturer)
    for path in ("/my/reflections", "/my/reflections/print", "/my/reflections/portfolio.zip"):
        assert client.get(path).status_code == 404
    assert select_all(client.get("/").text, '[href="/my/reflections"]') == []


def test_the_portfolio_takes_a_fixed_number_of_queries(app, session, assessing_class):
    from app.services import portfolio
    from tests.querycount import count_queries

    _lecturer, _course_class, _module, student, _web = assessing_class
    with count_queries(app.state.engine) as counter, __import__("sqlmodel").Session(app.state.engine) as fresh:
        data = portfolio.portfolio(fresh, user=student, catalogue=app.state.catalogue)
    assert data.count == 1 and counter.count <= 7, str(counter)
    assert session.exec(select(Feedback)).all() == []
    assert assessing.decode("not json") == {} and assessing.decode('["a"]') == {}
