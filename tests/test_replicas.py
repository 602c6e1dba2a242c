"""The deployment of docs/deploy.md, run for real: three `nabij serve` replicas and `nabij worker` on
PostgreSQL, behind nginx with the committed docs/nginx/nabij.conf, over HTTPS on loopback.

The replicas run as production does (`NABIJ_ENV=production`: `__Host-` cookies, HSTS, the job queue in
PostgreSQL served by the separate worker), trust nginx as their proxy, and nginx overwrites
X-Forwarded-For. The clients are plain HTTP clients (httpx), each connecting from its own loopback
address (127.0.0.x), so nginx sees distinct clients as it would on a network.

It walks the student's and the lecturer's journeys through nginx, has the worker deliver a mail that a
replica queued, checks that login throttling and sessions hold whichever replica answers (the nginx
log names the replica of every request by its request id), and then kills one replica with SIGKILL
while several students autosave: every save that was acknowledged (200) is in the database, the
students' clients retry and carry on, and their pages come back with their text.

It is a PostgreSQL deployment test: on the SQLite pass it is skipped in one line (it runs in the
PostgreSQL pass of .ci/run), and without nginx too (`make nginx`, part of `make test`, installs
Debian's when run as root). It creates and drops a database of its own on that server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app import PROJECT_ROOT
from tests.conftest import POSTGRES_URL, TEST_SECRET, csrf_from, make_settings

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
)
NGINX_CONF = PROJECT_ROOT / "docs" / "nginx" / "nabij.conf"

if not POSTGRES_URL:
    pytest.skip(
        "the replicas-behind-nginx deployment runs on PostgreSQL: it runs in the PostgreSQL pass "
        "(NABIJ_TEST_DATABASE_URL unset here)",
        allow_module_level=True,
    )
if NGINX is None:
    pytest.skip(
        "no nginx on this machine (`make nginx` installs Debian's as root): the replicas deployment test is skipped",
        allow_module_level=True,
    )

REPLICAS = 3
STUDENTS = 6  # two whole rounds of the class's anonymity threshold (3), so the review page shows every answer
PASSWORD = "replicas behind nginx 2026"
MAX_ATTEMPTS = 4  # failed logins per account before the throttle waits
ADDRESS_ATTEMPTS = 8  # failed logins per client address
START_TIMEOUT = 120
TIMEOUT = 20


# -- the deployment ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nabij_command() -> list[str]:
    script = Path(sys.executable).with_name("nabij")
    return [str(script)] if script.exists() else [sys.executable, "-m", "app.cli"]


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """End a process we started (its own process group), SIGKILL if it does not stop."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the client trusts exactly this one)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "nabij.crt", folder / "nabij.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def nginx_site(
    *, replica_ports: list[int], http_port: int, https_port: int, cert: Path, key: Path, access_log: Path
) -> str:
    """docs/nginx/nabij.conf with this run's ports, certificate and log: nothing else changes."""
    conf = NGINX_CONF.read_text()
    servers = "".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;\n" for port in replica_ports)
    replacements = [
        (r"^    server app:8000 .*;\n", servers),
        (r"^    listen \[::\]:(80|443).*;\n", ""),  # IPv6 loopback may not exist where the test runs
        (r"^    listen 80;", f"    listen 127.0.0.1:{http_port};"),
        (r"^    listen 443 ssl http2;", f"    listen 127.0.0.1:{https_port} ssl http2;"),
        (r"server_name nabij\.school\.be;", "server_name 127.0.0.1;"),
        (r"ssl_certificate     \S+;", f"ssl_certificate     {cert};"),
        (r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
        (r"access_log /var/log/nginx/nabij-access\.log nabij;", f"access_log {access_log} nabij;"),
    ]
    for pattern, replacement in replacements:
        conf, count = re.subn(pattern, replacement, conf, flags=re.M)
        assert count, f"docs/nginx/nabij.conf no longer has {pattern!r}: update this test with it"
    return conf


def nginx_main(folder: Path, site: Path) -> str:
    """The main nginx.conf around the site file, as Debian's /etc/nginx/nginx.conf is, in a folder of ours."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # as root, nginx's workers would be `nobody`
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} info;\n"
        f"events {{ worker_connections 512; }}\n"
        f"http {{\n{temp}\n    access_log off;\n    include {site};\n}}\n"
    )


@dataclass
class Replica:
    port: int
    log: Path
    process: subprocess.Popen | None = None


@dataclass
class Deployment:
    url: str
    http_url: str
    folder: Path
    var_dir: Path
    access_log: Path
    cert: Path
    database_url: str
    settings: object
    replicas: list[Replica]
    worker_log: Path
    module: object
    prompt_id: str
    section_path: str
    class_id: int
    lecturer_email: str
    students: list[dict] = field(default_factory=list)
    victim_email: str = ""

    def client(self, address: str) -> httpx.Client:
        """A browser-like client connecting from its own loopback address (nginx's $remote_addr)."""
        transport = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(self.cert)), local_address=address)
        return httpx.Client(
            base_url=self.url,
            transport=transport,
            timeout=TIMEOUT,
            follow_redirects=False,
            headers={"Accept-Language": "en"},
        )

    def replica_of(self, response: httpx.Response) -> int:
        """Which replica (by port) answered, from the nginx log line with the response's request id."""
        request_id = response.headers.get("x-request-id")
        assert request_id, dict(response.headers)
        deadline = time.monotonic() + 5
        while True:
            for line in reversed(self.access_log.read_text().splitlines()):
                if f"request_id={request_id}" in line:
                    last = re.search(r"upstream=(\S+)", line).group(1).split(",")[-1].strip()
                    return int(last.rsplit(":", 1)[1])
            assert time.monotonic() < deadline, f"request {request_id} is not in the nginx log"
            time.sleep(0.05)


def _create_database(url: str) -> str:
    parsed = make_url(url)
    name = f"nabij_replicas_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _wait_for(url: str, process: subprocess.Popen, log: Path, *, verify: ssl.SSLContext | bool = True) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, f"{process.args} stopped:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(url, timeout=2, verify=verify).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"no answer from {url} within {START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.25)


def _seed(settings, deployment_values: dict) -> dict:
    """The school: a lecturer with a class, a module assigned, six students and one more account, made
    with the real services straight in the database (as `nabij user create` and a roster import would)."""
    from app.content.catalogue import load_catalogue
    from app.db import make_engine
    from app.models import Role
    from app.services import accounts, classes

    catalogue = load_catalogue(settings.modules_dir)
    module, prompt_id = next((m, p) for m in catalogue.published() for p in m.reflections)
    engine = make_engine(settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            lecturer = accounts.create_user(
                session, email="docent@replicas.test", display_name="Dirk Docent", role=Role.LECTURER, password=PASSWORD
            )
            course_class = classes.create_class(
                session, name="SW2R", lecturer=lecturer, programme="Sociaal Werk", academic_year="2026-2027"
            )
            course_class.min_group_size = 3  # answers are shown in whole rounds of k (issue 12)
            session.add(course_class)
            classes.assign(
                session,
                course_class=course_class,
                module_slug=module.slug,
                due_on=dt.date.today() + dt.timedelta(days=14),
            )
            students = []
            for n in range(STUDENTS):
                user = accounts.create_user(
                    session,
                    email=f"student{n}@replicas.test",
                    display_name=f"Student Replica {n}",
                    role=Role.STUDENT,
                    password=PASSWORD,
                )
                classes.enrol(session, course_class=course_class, student=user)
                students.append(
                    {"id": user.id, "email": user.email, "name": user.display_name, "address": f"127.0.0.{10 + n}"}
                )
            victim = accounts.create_user(
                session, email="victim@replicas.test", display_name="Vera Doelwit", role=Role.STUDENT, password=PASSWORD
            )
            session.commit()
            return {
                "module": module,
                "prompt_id": prompt_id,
                "class_id": course_class.id,
                "lecturer_email": lecturer.email,
                "students": students,
                "victim_email": victim.email,
                "section_path": f"/modules/{module.slug}/{module.section_of(prompt_id).id}",
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("replicas")
    var_dir = folder / "var"  # shared, as a volume would be: the worker writes the mail outbox here
    database_url = _create_database(POSTGRES_URL)
    processes: list[subprocess.Popen] = []
    try:
        https_port, http_port = free_port(), free_port()
        base_url = f"https://127.0.0.1:{https_port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NABIJ_")}
        env.update(
            {
                "NABIJ_ENV": "production",  # what IT staff run: Secure __Host- cookies, the queue in PostgreSQL
                "NABIJ_SECRET_KEY": TEST_SECRET,
                "NABIJ_DATABASE_URL": database_url,
                "NABIJ_BASE_URL": base_url,
                "NABIJ_VAR_DIR": str(var_dir),
                "NABIJ_MODULES_DIR": str(PROJECT_ROOT / "modules"),
                "NABIJ_TRUSTED_PROXIES": "127.0.0.1",  # nginx, as docs/deploy.md says
                "NABIJ_THROTTLE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
                "NABIJ_THROTTLE_ADDRESS_ATTEMPTS": str(ADDRESS_ATTEMPTS),
                "NABIJ_DB_POOL_SIZE": "3",
                "NABIJ_DB_MAX_OVERFLOW": "2",  # 3 replicas + worker under max_connections
                "NABIJ_LOG_FORMAT": "json",
                "PYTHONUNBUFFERED": "1",
            }
        )
        migrated = subprocess.run(
            [*nabij_command(), "migrate"], env=env, capture_output=True, text=True, timeout=300, cwd=folder
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        settings = make_settings(folder, database_url=database_url, var_dir=var_dir)
        seeded = _seed(settings, {})

        replicas = [Replica(free_port(), folder / f"replica-{n}.log") for n in range(REPLICAS)]
        for replica in replicas:
            with open(replica.log, "wb") as output:
                replica.process = subprocess.Popen(
                    [*nabij_command(), "serve", "--host", "127.0.0.1", "--port", str(replica.port), "--workers", "1"],
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=folder,
                )
            processes.append(replica.process)
        worker_log = folder / "worker.log"
        with open(worker_log, "wb") as output:
            worker = subprocess.Popen(
                [*nabij_command(), "worker"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=folder,
            )
        processes.append(worker)

        cert, key = self_signed_certificate(folder)
        access_log = folder / "nabij-access.log"
        access_log.touch()
        site = folder / "nabij.conf"
        site.write_text(
            nginx_site(
                replica_ports=[r.port for r in replicas],
                http_port=http_port,
                https_port=https_port,
                cert=cert,
                key=key,
                access_log=access_log,
            )
        )
        main_conf = folder / "nginx.conf"
        main_conf.write_text(nginx_main(folder, site))
        checked = subprocess.run(
            [NGINX, "-t", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main_conf)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert checked.returncode == 0, checked.stderr
        nginx_log = folder / "nginx.out"
        with open(nginx_log, "wb") as output:
            nginx = subprocess.Popen(
                [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main_conf), "-g", "daemon off;"],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        processes.append(nginx)

        for replica in replicas:
            _wait_for(f"http://127.0.0.1:{replica.port}/healthz", replica.process, replica.log)
        _wait_for(
            f"{base_url}/healthz", nginx, folder / "error.log", verify=ssl.create_default_context(cafile=str(cert))
        )
        assert worker.poll() is None, worker_log.read_text()[-3000:]
        yield Deployment(
            url=base_url,
            http_url=f"http://127.0.0.1:{http_port}",
            folder=folder,
            var_dir=var_dir,
            access_log=access_log,
            cert=cert,
            database_url=database_url,
            settings=settings,
            replicas=replicas,
            worker_log=worker_log,
            **seeded,
        )
    finally:
        for process in reversed(processes):
            stop(process, signal.SIGQUIT if process.args[0] == NGINX else signal.SIGTERM)
        from app import jobs

        jobs.close_engines()
        _drop_database(database_url)


# -- what a browser does -------------------------------------------------------------------------------


def log_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/login")
    assert page.status_code == 200, page.status_code
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text), "next": "/"}
    )


def logged_in(deployment: Deployment, email: str, address: str) -> httpx.Client:
    """A client with a session; the caller closes it (`with contextlib.closing(...)`)."""
    client = deployment.client(address)
    response = log_in(client, email)
    assert response.status_code == 303, response.text[:500]
    assert any(name.startswith("__Host-") for name in client.cookies), dict(client.cookies)
    return client


VERSION = re.compile(r'name="version" value="(\d+)" id="version-([\w-]+)"')


def page_version(html: str, prompt_id: str) -> int:
    return next(int(v) for v, p in VERSION.findall(html) if p == prompt_id)


def autosave(client: httpx.Client, deployment: Deployment, csrf_token: str, text_value: str, version: int):
    return client.post(
        f"/modules/{deployment.module.slug}/prompts/{deployment.prompt_id}/draft",
        data={"text": text_value, "version": str(version)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token},
    )


def saved_version(response: httpx.Response) -> int:
    match = re.search(r'name="version" value="(\d+)"', response.text)
    assert match, response.text[:500]
    return int(match.group(1))


def stored_answer(deployment: Deployment, user_id: int):
    from app.db import make_engine
    from app.models import Answer

    engine = make_engine(deployment.settings)
    try:
        with Session(engine) as session:
            answer = session.exec(
                select(Answer).where(Answer.user_id == user_id, Answer.prompt_id == deployment.prompt_id)
            ).first()
            return None if answer is None else (answer.version, answer.text)
    finally:
        engine.dispose()


# -- the tests -----------------------------------------------------------------------------------------


def test_the_tested_nginx_configuration_is_the_documented_one():
    deploy = (PROJECT_ROOT / "docs" / "deploy.md").read_text()
    assert NGINX_CONF.read_text().strip() in deploy, "docs/deploy.md must show docs/nginx/nabij.conf as it is"


def test_plain_http_only_redirects_to_https(deployment):
    response = httpx.get(f"{deployment.http_url}/login", timeout=TIMEOUT)
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://127.0.0.1")
    secure = httpx.get(
        f"{deployment.url}/login", verify=ssl.create_default_context(cafile=str(deployment.cert)), timeout=TIMEOUT
    )
    assert "max-age=" in secure.headers["strict-transport-security"]


def test_the_student_and_lecturer_journeys_through_nginx(deployment):
    d = deployment
    served = set()
    # Every student: log in, find the module on the dashboard, write, submit.
    for n, student in enumerate(d.students):
        with closing(logged_in(d, student["email"], student["address"])) as client:
            dashboard = client.get("/")
            assert dashboard.status_code == 200 and d.module.title in dashboard.text
            page = client.get(d.section_path)
            assert page.status_code == 200, page.status_code
            token = csrf_from(page.text)
            version = page_version(page.text, d.prompt_id)
            draft = f"Reflectie van {student['name']}, eerst een kladversie."
            saved = autosave(client, d, token, draft, version)
            assert saved.status_code == 200, saved.text[:300]
            served |= {d.replica_of(r) for r in (dashboard, page, saved)}
            # No name in it: the guard for clients' names (issue 13) would hold the submission back.
            repeats = d.module.reflections[d.prompt_id].min_words // 9 + 1  # enough words to submit
            final = " ".join([f"Mijn antwoord, nummer {n}: ik bleef in de buurt en luisterde."] * repeats)
            submitted = client.post(
                f"/modules/{d.module.slug}/prompts/{d.prompt_id}",
                data={"text": final, "version": str(saved_version(saved)), "action": "submit", "csrf_token": token},
            )
            assert submitted.status_code == 303, submitted.text[:500]
            assert "not-submitted" not in submitted.headers["location"], submitted.headers["location"]
            after = client.get(submitted.headers["location"])
            assert after.status_code == 200 and f"{final}</textarea>" in after.text
            student["submitted"] = final
    assert len(served) == REPLICAS, f"nginx sent every request to replicas {served}"

    # The lecturer: the class, its progress matrix, the answers under pseudonyms, feedback.
    with closing(logged_in(d, d.lecturer_email, "127.0.0.3")) as lecturer:
        matrix = lecturer.get(f"/classes/{d.class_id}/progress")
        assert matrix.status_code == 200
        assert all(s["name"] in matrix.text for s in d.students)
        review_url = f"/classes/{d.class_id}/review/{d.module.slug}/{d.prompt_id}"
        review = lecturer.get(review_url)
        assert review.status_code == 200
        assert all(s["submitted"].split(":")[1][:30] in review.text for s in d.students)
        assert not any(s["name"] in review.text for s in d.students)  # pseudonyms, not names
        refs = re.findall(r'name="ref" value="([0-9a-f]{16})"', review.text)
        assert refs
        feedback = "Wat merkte je bij jezelf toen je bleef?"
        given = lecturer.post(
            f"{review_url}/feedback", data={"ref": refs[0], "feedback": feedback, "csrf_token": csrf_from(review.text)}
        )
        assert given.status_code == 303, given.text[:500]
    # One of the students finds it beside their answer.
    found = 0
    for student in d.students:
        with closing(logged_in(d, student["email"], student["address"])) as client:
            found += feedback in client.get(d.section_path).text
    assert found == 1


def test_the_job_worker_delivers_mail_that_a_replica_queued(deployment):
    d = deployment
    outbox = d.var_dir / "outbox"
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    with d.client("127.0.0.4") as client:
        form = client.get("/password/forgot")
        sent = client.post(
            "/password/forgot", data={"email": d.students[0]["email"], "csrf_token": csrf_from(form.text)}
        )
        assert sent.status_code == 200, sent.text[:300]
        deadline = time.monotonic() + 60
        while not (mails := set(outbox.glob("*.eml")) - before if outbox.exists() else set()):
            assert time.monotonic() < deadline, f"no mail from the worker:\n{d.worker_log.read_text()[-3000:]}"
            time.sleep(0.2)
        body = next(iter(mails)).read_text()
        link = re.search(r"https://127\.0\.0\.1:\d+(/password/reset/[\w-]+)", body)
        assert link, body
        assert client.get(link.group(1)).status_code == 200


def test_login_throttling_holds_across_replicas_and_counts_the_real_client(deployment):
    d = deployment
    # Per account: failures on any replica count together; then even the right password waits.
    with d.client("127.0.0.5") as client:
        page = client.get("/login")
        token = csrf_from(page.text)
        failed_on = set()
        for n in range(MAX_ATTEMPTS):
            response = client.post(
                "/login", data={"email": d.victim_email, "password": f"wrong {n}", "csrf_token": token}
            )
            assert response.status_code == 400
            failed_on.add(d.replica_of(response))
        refused_on = set()
        for _ in range(REPLICAS):
            refused = client.post("/login", data={"email": d.victim_email, "password": PASSWORD, "csrf_token": token})
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
            refused_on.add(d.replica_of(refused))
        assert len(failed_on | refused_on) == REPLICAS, (failed_on, refused_on)

    # Per address: nginx overwrites X-Forwarded-For, so a client cannot pose as many clients by
    # sending its own; and the replicas trust nginx, so another client is not throttled with it.
    with d.client("127.0.0.6") as client:
        token = csrf_from(client.get("/login").text)
        statuses = []
        for n in range(ADDRESS_ATTEMPTS + 1):
            response = client.post(
                "/login",
                headers={"X-Forwarded-For": f"198.51.100.{n + 1}"},
                data={"email": f"nobody{n}@replicas.test", "password": "guess", "csrf_token": token},
            )
            statuses.append(response.status_code)
        assert statuses == [400] * ADDRESS_ATTEMPTS + [429], statuses
    with d.client("127.0.0.7") as other:
        response = log_in(other, d.students[1]["email"])
        assert response.status_code == 303, response.status_code


@dataclass
class Writer:
    """A student's page autosaving as the browser does: on a failure it keeps the text and tries again."""

    student: dict
    client: httpx.Client
    token: str
    version: int
    acknowledged: list[tuple[int, str, float]] = field(default_factory=list)  # (version, text, when)
    retries: int = 0
    conflicts: int = 0
    problems: list[str] = field(default_factory=list)


def _write(deployment: Deployment, writer: Writer, stop_at: list[float]) -> None:
    n = 0
    pending: str | None = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if pending is None:
            if time.monotonic() >= stop_at[0]:
                return
            n += 1
            pending = f"Autosave {n} van {writer.student['name']}: ik typ verder aan mijn reflectie."
        try:
            response = autosave(writer.client, deployment, writer.token, pending, writer.version)
        except httpx.TransportError as error:
            writer.retries += 1
            writer.problems.append(type(error).__name__)
            time.sleep(0.1)
            continue
        if response.status_code == 200:
            writer.version = saved_version(response)
            writer.acknowledged.append((writer.version, pending, time.monotonic()))
            pending = None
            time.sleep(0.02)
        elif response.status_code == 409:
            # The page shows both texts; the student's page reloads the stored one and saves again.
            writer.conflicts += 1
            page = writer.client.get(deployment.section_path)
            writer.version = page_version(page.text, deployment.prompt_id)
        elif response.status_code in (502, 503, 504):
            writer.retries += 1
            writer.problems.append(str(response.status_code))
            time.sleep(0.1)
        else:
            writer.problems.append(f"unexpected {response.status_code}: {response.text[:200]}")
            return
    writer.problems.append("no acknowledged save within 90 s")


def test_a_replica_killed_during_autosaves_loses_no_acknowledged_save(deployment):
    d = deployment
    writers = []
    for student in d.students:
        client = logged_in(d, student["email"], student["address"])
        page = client.get(d.section_path)
        writers.append(Writer(student, client, csrf_from(page.text), page_version(page.text, d.prompt_id)))
    stop_at = [float("inf")]
    threads = [threading.Thread(target=_write, args=(d, w, stop_at), daemon=True) for w in writers]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while min(len(w.acknowledged) for w in writers) < 5:  # the load is on every replica
            assert time.monotonic() < deadline and all(t.is_alive() for t in threads), [w.problems for w in writers]
            time.sleep(0.05)
        victim = d.replicas[1]
        killed_at = time.monotonic()
        os.killpg(victim.process.pid, signal.SIGKILL)
        victim.process.wait(timeout=10)
        while min(sum(1 for *_, when in w.acknowledged if when > killed_at + 1.0) for w in writers) < 5:
            assert time.monotonic() < deadline and all(t.is_alive() for t in threads), [w.problems for w in writers]
            time.sleep(0.05)
        stop_at[0] = time.monotonic()
        for thread in threads:
            thread.join(timeout=100)
        assert not any(t.is_alive() for t in threads)
        for writer in writers:
            assert not [p for p in writer.problems if p.startswith(("unexpected", "no acknowledged"))], writer.problems
            versions = [v for v, *_ in writer.acknowledged]
            assert versions == sorted(set(versions)), versions  # every acknowledgement a newer version
            # Every acknowledged save is in the database: the last one is what is stored, nothing after it.
            last_version, last_text, _ = writer.acknowledged[-1]
            assert stored_answer(d, writer.student["id"]) == (last_version, last_text), writer.student["name"]
            # The session goes on on the replicas left, and the page shows the text.
            page = writer.client.get(d.section_path)
            assert page.status_code == 200 and f"{last_text}</textarea>" in page.text
            assert page_version(page.text, d.prompt_id) == last_version

        # The killed replica had its share of the saves before it died, and none after; both others
        # served after it.
        lines = d.access_log.read_text().splitlines()
        saves = [line for line in lines if " POST " in line and "request_id=" in line]
        assert any(f":{victim.port}" in line for line in saves)
        healthy = {r.port for r in d.replicas if r is not victim}
        after = [d.replica_of(writer.client.get("/healthz")) for writer in writers for _ in range(2)]
        assert set(after) == healthy, after
    finally:
        stop_at[0] = 0
        for writer in writers:
            writer.client.close()
    print(
        f"retries after the kill: {sum(w.retries for w in writers)} "
        f"({sorted({p for w in writers for p in w.problems})}), conflicts resolved: {sum(w.conflicts for w in writers)}"
    )
