"""Start-up, health and the module reader."""

import logging
import shutil

import pytest

from app.config import ConfigError, Settings
from app.main import create_app
from tests.conftest import POSTGRES_URL, make_settings
from tests.pages import has, one, select, text_of, texts, top_level


def test_healthz_reports_database_and_modules(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "modules": len(app.state.catalogue.modules)}
    assert response.json()["modules"] >= 6


def test_healthz_is_503_when_the_database_does_not_answer(client, app, tmp_path):
    from app.db import make_engine

    working = app.state.engine
    app.state.engine = make_engine(make_settings(tmp_path, database_url="sqlite:////nonexistent/dir/x.db"))
    response = client.get("/healthz")
    app.state.engine = working
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert "unavailable" in response.json()["database"]


@pytest.mark.skipif(bool(POSTGRES_URL), reason="SQLite-specific: a fresh file has no schema")
def test_start_refuses_an_unmigrated_database_and_names_the_fix(tmp_path):
    settings = make_settings(tmp_path)
    with pytest.raises(ConfigError, match="nabij migrate"):
        create_app(settings)


def test_production_refuses_to_start_without_a_secret(tmp_path):
    settings = Settings(env="production", var_dir=tmp_path, secret_key=None)
    with pytest.raises(ConfigError, match="NABIJ_SECRET_KEY") as error:
        create_app(settings)
    assert "\n" not in str(error.value)


def test_development_secret_is_generated_once_and_kept(tmp_path):
    settings = Settings(env="development", var_dir=tmp_path, secret_key=None)
    first = settings.secret()
    assert len(first) >= 32
    assert Settings(env="development", var_dir=tmp_path, secret_key=None).secret() == first


def test_one_broken_module_is_logged_and_the_others_are_served(tmp_path, settings, caplog):
    modules = tmp_path / "modules"
    shutil.copytree(settings.modules_dir / "de-relatie-werkt", modules / "de-relatie-werkt")
    shutil.copytree(settings.modules_dir / "_rubrics", modules / "_rubrics")  # the rubrics its prompts use
    broken = modules / "kapot"
    broken.mkdir()
    (broken / "module.md").write_text("---\ntitle: [kapot\n---\n\n## Een\n\nTekst\n")
    with caplog.at_level(logging.WARNING, logger="nabij.modules"):
        app = create_app(settings.model_copy(update={"modules_dir": modules}))
    app.state.engine.dispose()
    assert list(app.state.catalogue.modules) == ["de-relatie-werkt"]
    lines = [r.getMessage() for r in caplog.records if "kapot" in r.getMessage()]
    assert len(lines) == 1 and "module.md" in lines[0] and "line 2" in lines[0]


def test_catalogue_lists_the_published_modules(client, app):
    response = client.get("/modules")
    assert response.status_code == 200
    cards = {text_of(link): link["href"] for link in select(response.text, ".card .card__title a")}
    for module in app.state.catalogue.published():
        assert module.title in response.text
        assert cards[module.title] == f"/modules/{module.slug}"


def test_module_overview_shows_goals_and_contents(client, app):
    module = app.state.catalogue.published()[0]
    response = client.get(f"/modules/{module.slug}")
    assert response.status_code == 200
    assert module.learning_goals[0] in response.text
    contents = [link["href"] for link in select(response.text, "nav.toc a")]
    assert contents == [f"/modules/{module.slug}/{section.id}" for section in module.sections]


def test_reader_steps_through_sections_with_previous_and_next(client, app):
    module = app.state.catalogue.published()[0]
    first, second = module.sections[0], module.sections[1]
    page = client.get(f"/modules/{module.slug}/{first.id}")
    assert page.status_code == 200
    assert texts(page.text, "h1") == [first.title]
    assert text_of(one(page.text, "article.reader#section > h1")) == first.title
    pager = one(page.text, "article.reader nav.pager")
    assert one(pager, 'a[rel~="next"]')["href"] == f"/modules/{module.slug}/{second.id}"
    assert select(page.text, '[rel~="prev"]') == []
    assert one(page.text, 'nav.toc a[aria-current="step"]')["href"] == f"/modules/{module.slug}/{first.id}"
    last = module.sections[-1]
    page = client.get(f"/modules/{module.slug}/{last.id}")
    assert select(page.text, '[rel~="next"]') == []
    assert one(page.text, 'article.reader nav.pager a[rel~="prev"]')["href"] == (
        f"/modules/{module.slug}/{module.sections[-2].id}"
    )


def test_reader_serves_only_the_section_fragment_to_htmx(client, app):
    module = app.state.catalogue.published()[0]
    section = module.sections[1]
    response = client.get(f"/modules/{module.slug}/{section.id}", headers={"HX-Request": "true"})
    assert response.status_code == 200
    [article] = top_level(response.text)  # the section alone, to swap in
    assert (article.name, article["class"], article["id"]) == ("article", ["reader"], "section")
    assert select(response.text, "html, head, body") == []
    assert text_of(one(article, "h1")) == section.title
    assert "HX-Request" in response.headers["Vary"]


def test_unknown_module_and_section_are_404_pages(client, app):
    assert client.get("/modules/bestaat-niet").status_code == 404
    module = app.state.catalogue.published()[0]
    response = client.get(f"/modules/{module.slug}/bestaat-niet")
    assert response.status_code == 404
    assert has(response.text, "html > body")  # a whole page, with the site around it


def test_module_media_cannot_escape_the_module_folder(client, app):
    module = app.state.catalogue.published()[0]
    assert client.get(f"/modules/{module.slug}/media/module.md").status_code == 404
    assert client.get(f"/modules/{module.slug}/media/..%2F..%2Fpyproject.toml").status_code == 404


def test_module_pages_are_rendered_at_start_not_per_request(client, app, monkeypatch):
    import app.content.markdown as markdown

    def forbidden(*args, **kwargs):
        raise AssertionError("Markdown was parsed during a request")

    monkeypatch.setattr(markdown, "markdown", forbidden)
    module = app.state.catalogue.published()[0]
    for section in module.sections:
        assert client.get(f"/modules/{module.slug}/{section.id}").status_code == 200


def test_a_served_worker_keeps_what_it_built_at_start_out_of_full_collections(settings, monkeypatch):
    """Each full garbage collection used to walk every object built at start-up, stalling all requests."""
    import gc

    from app import main
    from app.cli import operations

    def current_settings():
        return settings

    current_settings.cache_clear = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setattr(main, "get_settings", current_settings)
    try:
        app = main.create_served_app()
        assert app.state.catalogue.modules
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
    served = {}
    monkeypatch.setattr(operations, "get_settings", current_settings)
    monkeypatch.setattr("uvicorn.run", lambda target, **options: served.update(target=target, **options))
    operations.serve.callback(host="127.0.0.1", port=8000, reload=False, workers=2)  # the command, without click
    assert served["target"] == "app.main:create_served_app" and served["factory"] is True
