"""Operations: one structured access line per request (never a raw URL or a body), and /metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import sys

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from app.main import create_app
from app.models import Role
from app.observability import UNMATCHED, InFlightLimit, JsonLineFormatter, Metrics, logging_config, request_id_var
from tests.conftest import csrf_from
from tests.factories import PASSWORD, csrf, login, make_user

EN = {"Accept-Language": "en"}
TOKEN = "metrics-token-for-the-scraper-0123456789"


def access_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "nabij.access"]


def everything_logged(caplog) -> str:
    """Every server-side record as the JSON line `nabij serve` would write, one per line (the test
    client's own `httpx` logger, which names full URLs, is not part of the server)."""
    formatter = JsonLineFormatter()
    return "\n".join(formatter.format(record) for record in caplog.records if not record.name.startswith("httpx"))


# -- the access log --------------------------------------------------------------------------------


def test_each_request_writes_one_access_line_with_id_route_status_and_duration(client, app, caplog):
    module = app.state.catalogue.published()[0]
    section = module.sections[0]
    with caplog.at_level(logging.INFO, logger="nabij.access"):
        response = client.get(f"/modules/{module.slug}/{section.id}?utm=x")
    assert response.status_code == 200
    records = access_records(caplog)
    assert len(records) == 1
    fields = records[0].fields
    assert fields["request_id"] == response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", fields["request_id"])
    assert fields["method"] == "GET"
    assert fields["route"] == "/modules/{slug}/{section_id}"
    assert fields["status"] == 200
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0
    line = json.loads(JsonLineFormatter().format(records[0]))
    assert line["logger"] == "nabij.access" and line["route"] == "/modules/{slug}/{section_id}"
    assert module.slug not in everything_logged(caplog) and "utm" not in everything_logged(caplog)


def test_request_ids_differ_per_request(client):
    ids = {client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize(
    ("path", "route", "status"),
    [
        ("/static/not-there.js", "/static/{path}", 404),
        ("/no/such/page?secret=1", UNMATCHED, 404),
        ("/modules/not-a-module", "/modules/{slug}", 404),
    ],
)
def test_routes_are_logged_as_templates_never_as_urls(client, caplog, path, route, status):
    with caplog.at_level(logging.INFO, logger="nabij.access"):
        assert client.get(path).status_code == status
    (record,) = access_records(caplog)
    assert (record.fields["route"], record.fields["status"]) == (route, status)
    logged = everything_logged(caplog)
    assert "secret" not in logged and "not-a-module" not in logged and "not-there" not in logged


@pytest.mark.parametrize("settings", [{"metrics_token": TOKEN}], indirect=True)
def test_a_static_file_served_is_counted_in_the_metrics_not_logged(client, caplog):
    """A page pulls in its CSS and scripts: a log line each would cost more than serving them."""
    with caplog.at_level(logging.INFO, logger="nabij.access"):
        for _ in range(2):
            assert client.get("/static/nabij.css").status_code == 200
    assert access_records(caplog) == []
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    counted = sample(
        parse_metrics(scraped.text), "nabij_http_requests_total", route="/static/{path}", status="200", method="GET"
    )
    assert counted == 2


def test_reset_tokens_passwords_and_reflection_text_never_reach_the_log(client, session, caplog):
    from datetime import timedelta

    from app.services import accounts

    user = make_user(session)
    token = accounts.start_password_reset(session, user=user, valid_for=timedelta(minutes=30))
    session.commit()
    new_password = "a brand new passphrase for the reset 42"
    reflection = "Toen Yusuf wegkeek voelde ik me onzeker en dat schreef ik op"
    with caplog.at_level(logging.DEBUG):
        page = client.get(f"/password/reset/{token}")
        client.post(
            f"/password/reset/{token}",
            data={"password": new_password, "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        login_page = client.get("/login")
        client.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(login_page.text),
                "text": reflection,
            },
        )
    logged = everything_logged(caplog)
    routes = [r.fields["route"] for r in access_records(caplog)]
    assert routes == ["/password/reset/{token}", "/password/reset/{token}", "/login", "/login"]
    for secret in (token, new_password, PASSWORD, reflection, user.email):
        assert secret not in logged


def test_a_server_error_is_logged_and_counted_as_500_with_its_request_id(settings, caplog):
    app = create_app(settings)

    def boom():
        raise RuntimeError("kapot")

    app.add_api_route("/boom-for-test", boom)
    with caplog.at_level(logging.INFO), TestClient(app, raise_server_exceptions=False, headers=EN) as client:
        response = client.get("/boom-for-test")
    app.state.engine.dispose()
    assert response.status_code == 500
    (record,) = access_records(caplog)
    assert record.fields["status"] == 500 and record.fields["route"] == "/boom-for-test"
    assert response.headers["X-Request-ID"] == record.fields["request_id"]
    assert app.state.metrics.series[("GET", "/boom-for-test", "500")][-2] == 1
    errors = [json.loads(JsonLineFormatter().format(r)) for r in caplog.records if r.name == "nabij.errors"]
    assert errors and errors[0]["request_id"] == record.fields["request_id"]
    assert "\n" not in JsonLineFormatter().format(next(r for r in caplog.records if r.name == "nabij.errors"))


def test_json_lines_are_one_line_even_with_a_traceback():
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        record = logging.LogRecord(
            "nabij.errors", logging.ERROR, __file__, 1, "failed\non two lines", None, sys.exc_info()
        )
    token = request_id_var.set("0123456789abcdef")
    try:
        line = JsonLineFormatter().format(record)
    finally:
        request_id_var.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "0123456789abcdef"
    assert entry["message"] == "failed\non two lines" and "ValueError" in entry["exception"]


def _serve(monkeypatch, tmp_path, *args, env: dict | None = None):
    """Run `nabij serve` with uvicorn replaced: the options it would start uvicorn with, and its output."""
    import uvicorn

    from app.cli import main
    from app.config import get_settings

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setattr("app.migrations.ensure_current", lambda *args, **kwargs: None)
    monkeypatch.setattr("logging.config.dictConfig", lambda config: None)  # keep the test's own logging
    monkeypatch.setenv("NABIJ_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("NABIJ_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NABIJ_BASE_URL", "")  # recorded, so that what serve sets is undone after the test
    monkeypatch.delenv("NABIJ_BASE_URL")
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["serve", *args])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    (options,) = calls
    return options, result


def test_serve_turns_uvicorns_raw_url_access_log_off(monkeypatch, tmp_path):
    options, _ = _serve(
        monkeypatch,
        tmp_path,
        "--workers",
        "2",
        "--port",
        "8123",
        env={"NABIJ_ENV": "production", "NABIJ_BASE_URL": "https://nabij.school.test"},
    )
    assert options["access_log"] is False and options["workers"] == 2
    config = options["log_config"]
    assert config == logging_config("INFO", "json")
    assert config["loggers"]["uvicorn.access"]["propagate"] is False
    assert config["root"]["level"] == "INFO"
    assert config["formatters"]["line"]["()"].endswith("JsonLineFormatter")


def test_development_logs_readable_lines_and_production_json(monkeypatch, tmp_path):
    options, _ = _serve(monkeypatch, tmp_path)
    assert options["log_config"]["formatters"]["line"]["()"].endswith("ConsoleLineFormatter")
    options, _ = _serve(monkeypatch, tmp_path, env={"NABIJ_ENV": "development", "NABIJ_LOG_FORMAT": "json"})
    assert options["log_config"]["formatters"]["line"]["()"].endswith("JsonLineFormatter")

    from app.observability import ConsoleLineFormatter

    record = logging.LogRecord(
        "nabij.access", logging.INFO, __file__, 1, "%s %s %s %.1fms", ("GET", "/modules/{slug}", 200, 3.24), None
    )
    line = ConsoleLineFormatter().format(record)
    assert line.endswith("INFO  GET /modules/{slug} 200 3.2ms") and "{" not in line.split()[0]


def test_make_run_on_another_port_links_to_that_port(monkeypatch, tmp_path, caplog):
    import os

    from app.config import get_settings

    with caplog.at_level(logging.INFO, logger="nabij"):
        _serve(monkeypatch, tmp_path, "--port", "8101")
    assert any("http://127.0.0.1:8101" in record.getMessage() for record in caplog.records)
    assert os.environ["NABIJ_BASE_URL"] == "http://127.0.0.1:8101"
    assert get_settings().base_url == "http://127.0.0.1:8101"  # what mails and class pages use


def test_production_without_a_base_url_warns_at_start(monkeypatch, tmp_path):
    _, result = _serve(monkeypatch, tmp_path, env={"NABIJ_ENV": "production"})
    assert "NABIJ_BASE_URL is not set" in result.stderr


def test_migrate_says_what_it_did(monkeypatch, tmp_path):
    from app.cli import main
    from app.config import get_settings

    monkeypatch.setenv("NABIJ_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("NABIJ_SECRET_KEY", "x" * 40)
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(main, ["migrate"])
        second = CliRunner().invoke(main, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0 and "database created at the latest revision" in first.output
    assert second.exit_code == 0 and "database is up to date" in second.output


# -- headers for tests and benchmarks --------------------------------------------------------------


def test_test_env_names_the_worker_and_query_counts_are_opt_in(settings, monkeypatch):
    monkeypatch.delenv("NABIJ_COUNT_QUERIES", raising=False)
    app = create_app(settings)
    with TestClient(app, headers=EN) as client:
        response = client.get("/healthz")
    app.state.engine.dispose()
    assert response.headers["X-Nabij-Worker"] == str(os.getpid())
    assert "X-Query-Count" not in response.headers

    monkeypatch.setenv("NABIJ_COUNT_QUERIES", "1")
    app = create_app(settings)
    with TestClient(app, headers=EN) as client:
        counts = [
            int(client.get(path).headers["X-Query-Count"]) for path in ("/static/nabij.css", "/healthz", "/login")
        ]
    app.state.engine.dispose()
    assert counts[0] == 0  # a static file touches no database
    assert counts[1] >= 1  # SELECT 1


def test_production_sends_neither_worker_nor_query_count(settings, monkeypatch):
    monkeypatch.setenv("NABIJ_COUNT_QUERIES", "1")
    app = create_app(settings.model_copy(update={"env": "production"}))
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/healthz")
    app.state.engine.dispose()
    assert "X-Nabij-Worker" not in response.headers and "X-Query-Count" not in response.headers
    assert response.headers["X-Request-ID"]


def test_query_count_counts_the_sync_routes_statements(settings, session, monkeypatch):
    monkeypatch.setenv("NABIJ_COUNT_QUERIES", "1")
    app = create_app(settings)
    student = make_user(session)
    with TestClient(app, headers=EN) as client:
        anonymous = int(client.get("/").headers["X-Query-Count"])
        login(client, student)
        logged_in = int(client.get("/").headers["X-Query-Count"])
    app.state.engine.dispose()
    assert logged_in > anonymous  # the session lookup and the student's assignments


# -- /metrics --------------------------------------------------------------------------------------


def parse_metrics(text: str) -> dict[tuple[str, frozenset], float]:
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        assert match, line
        labels = frozenset(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def sample(samples, name: str, **labels) -> float:
    wanted = set(labels.items())
    found = [value for (n, ls), value in samples.items() if n == name and wanted <= set(ls)]
    assert len(found) == 1, (name, labels, found)
    return found[0]


@pytest.mark.parametrize("settings", [{"metrics_token": TOKEN}], indirect=True)
def test_metrics_count_requests_by_route_template_and_status(client, session, app):
    admin = make_user(session, role=Role.ADMIN)
    module = app.state.catalogue.published()[0]
    for _ in range(3):
        assert client.get(f"/modules/{module.slug}").status_code == 200
    client.get("/modules/not-a-module")
    login(client, admin)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["Cache-Control"] == "no-store"
    samples = parse_metrics(response.text)
    worker = str(os.getpid())
    assert (
        sample(samples, "nabij_http_requests_total", route="/modules/{slug}", status="200", method="GET", worker=worker)
        == 3
    )
    assert sample(samples, "nabij_http_requests_total", route="/modules/{slug}", status="404") == 1
    assert sample(samples, "nabij_http_request_duration_seconds_count", route="/modules/{slug}", status="200") == 3
    buckets = sorted(
        (float(dict(ls)["le"]), value)
        for (n, ls), value in samples.items()
        if n == "nabij_http_request_duration_seconds_bucket"
        and ("route", "/modules/{slug}") in ls
        and ("status", "200") in ls
    )
    assert buckets[-1] == (float("inf"), 3)
    assert [value for _, value in buckets] == sorted(value for _, value in buckets)  # cumulative
    assert (
        sample(samples, "nabij_threadpool_limit")
        == app.state.settings.db_pool_size + app.state.settings.db_max_overflow
    )
    assert (
        sample(samples, "nabij_db_pool_limit") == app.state.settings.db_pool_size + app.state.settings.db_max_overflow
    )
    assert (
        sample(samples, "nabij_requests_in_flight_limit")
        == (app.state.settings.db_pool_size + app.state.settings.db_max_overflow) // 2
    )
    assert sample(samples, "nabij_requests_in_flight") == 1  # this request
    assert module.slug not in response.text  # templates, not URLs

    # The token opens it without a login; a session is not needed.
    with TestClient(app) as scraper:
        scraped = scraper.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert scraped.status_code == 200
        assert "nabij_http_requests_total" in scraped.text


@pytest.mark.parametrize("settings", [{"metrics_token": TOKEN}], indirect=True)
@pytest.mark.parametrize("role", [None, Role.STUDENT, Role.LECTURER], ids=lambda r: r.value if r else "anonymous")
def test_metrics_are_404_for_everyone_else(app, session, role):
    with TestClient(app) as client:
        if role is not None:
            login(client, make_user(session, role=role))
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": "Bearer "},
        ):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 404, headers
            assert "nabij_http" not in response.text


def test_without_a_configured_token_only_admins_read_metrics(client, session):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 404
    login(client, make_user(session, role=Role.ADMIN))
    assert client.get("/metrics").status_code == 200


def test_metric_methods_are_a_closed_set_and_labels_are_escaped():
    metrics = Metrics()
    metrics.observe("GET", 'a"b\\c', 200, 0.003)
    text = metrics.render([("nabij_x", "help", 1.5)])
    assert 'route="a\\"b\\\\c"' in text
    assert "nabij_x{" in text and text.endswith("\n")


def test_unknown_methods_are_counted_as_other(client, app):
    client.request("BREW", "/healthz")
    assert ("OTHER", "/healthz", "405") in app.state.metrics.series


def test_csrf_token_of_a_form_is_not_in_the_access_line(client, session, caplog):
    user = make_user(session)
    login(client, user)
    token = csrf(client)
    with caplog.at_level(logging.INFO, logger="nabij.access"):
        client.post("/language", data={"lang": "en", "next": "/", "csrf_token": token})
    assert token not in everything_logged(caplog)


# -- admission control -----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "expected_peak"), [("/modules", 3), ("/static/nabij.css", 12)])
def test_no_more_requests_in_flight_than_threads_static_files_excepted(path, expected_peak):
    import anyio

    active = peak = 0

    async def app(scope, receive, send):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await anyio.sleep(0.02)
        active -= 1

    gate = InFlightLimit(app, limit=3)

    async def burst():
        async with anyio.create_task_group() as group:
            for _ in range(12):
                group.start_soon(gate, {"type": "http", "path": path}, None, None)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as thread:  # its own thread: another test may leave a loop running
        thread.submit(anyio.run, burst).result(timeout=60)
    assert peak == expected_peak
    assert (gate.in_flight, gate.waiting) == (0, 0)


def test_each_admitted_request_can_hold_two_connections_and_still_find_a_thread(client, app):
    client.get("/healthz")
    settings = app.state.settings
    connections = settings.db_pool_size + settings.db_max_overflow
    assert 2 * app.state.in_flight.limit <= connections  # a page view's read connection + its write_for
    threads = connections  # app.main sizes AnyIO's thread pool to the connection pool
    assert app.state.in_flight.limit <= threads


# -- the deployment guide --------------------------------------------------------------------------


def test_every_setting_is_documented_in_the_deployment_guide():
    from app import PROJECT_ROOT
    from app.config import Settings

    guide = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    missing = [f"NABIJ_{name.upper()}" for name in Settings.model_fields if f"NABIJ_{name.upper()}" not in guide]
    assert not missing, f"document these in docs/deploy.md: {missing}"


def test_an_unhandled_error_logs_the_route_not_the_path(app, caplog):
    from fastapi.testclient import TestClient

    @app.get("/boom/{secret}")
    def boom(secret: str):
        raise RuntimeError("kaboom")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level("ERROR"):
        assert client.get("/boom/reset-token-abc123").status_code == 500
    messages = [record.getMessage() for record in caplog.records]
    assert any("/boom/{secret}" in message for message in messages)
    assert not any("reset-token-abc123" in message for message in messages)
