"""Production defaults (issue 14, item 6): headers, probes, logs, docs access and the daily run."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import threading
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connections
from django.test import Client

from saisei.core import health, schedule
from saisei.core import services as core_services
from saisei.core.demo import load_demo
from saisei.core.logs import JsonFormatter, RequestLogMiddleware
from saisei.core.models import DailyRun, Role, User

TOKYO = ZoneInfo("Asia/Tokyo")
SAISEI = Path(__file__).resolve().parents[2]
PAGES_PER_ROLE = 30
SKIP_WORDS = ("logout", "/exit", ".ics", ".csv", ".json", ".png", ".pdf", "export", "/static/")


def _script_src(response: Any) -> str:
    policy = response.get("Content-Security-Policy", "")
    for directive in policy.split(";"):
        name, _, value = directive.strip().partition(" ")
        if name == "script-src":
            return value
    return ""


class _InlineCode(HTMLParser):
    """Inline script a browser would run: script bodies, on* handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
            if name == "style":
                self.found.append(f"<{tag} style=…>")
        if tag == "script":
            # A data block (JSON) is never run; any other script must come from a file.
            self._in_script = not a.get("src") and a.get("type") != "application/json"
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(f"<script>{data.strip()[:40]}…")


def _check_page(url: str, resp: Any) -> list[str]:
    problems = []
    src = _script_src(resp)
    if "'self'" not in src or "unsafe-inline" in src or "unsafe-eval" in src:
        problems.append(f"{url}: script-src {src!r}")
    if resp.get("Cache-Control") != "no-store":
        problems.append(f"{url}: Cache-Control {resp.get('Cache-Control')!r}")
    return problems


def _walk(client: Client, start: str, *, prefix: str = "/", limit: int) -> tuple[int, list[str]]:
    """Open every page reachable from ``start``; return how many and what is wrong on them."""
    problems: list[str] = []
    seen: set[str] = set()
    queue = [start]
    opened = 0
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        problems += _check_page(url, resp)
        if resp.status_code != 200 or "html" not in resp.get("Content-Type", ""):
            continue
        opened += 1
        page = _InlineCode()
        page.feed(resp.content.decode())
        problems += [f"{url}: {f}" for f in page.found]
        for link in page.links:
            href = link.split("#")[0].split("?")[0]
            if (
                href.startswith(prefix)
                and not href.startswith(("/api/", "/i18n/"))
                and not any(w in href for w in SKIP_WORDS)
                and href not in seen
            ):
                queue.append(href)
    return opened, problems


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(core_services, "TOTP_VALID_WINDOW", 10_000)
    return load_demo(stdout=io.StringIO())


# --- Content-Security-Policy and no-store -------------------------------------------------


def test_every_page_a_role_opens_forbids_inline_script_and_is_not_stored(
    world: Any, web_for: Any
) -> None:
    problems: list[str] = []
    for role in Role.values:
        opened, found = _walk(web_for(User.objects.get(username=role)), "/", limit=PAGES_PER_ROLE)
        assert opened >= 3, role  # the walk really opened pages
        problems += found
    # Public pages: sign-in, the public inquiry form, and the API docs (open in demo mode).
    for url in ("/accounts/login/", "/journey/inquiry/sakura/", "/api/v1/docs"):
        resp = Client().get(url)
        assert resp.status_code == 200, url
        problems += _check_page(url, resp)
        page = _InlineCode()
        page.feed(resp.content.decode())
        problems += [f"{url}: {f}" for f in page.found]
    assert not problems, "\n".join(problems)


def test_the_family_portal_forbids_inline_script(world: Any) -> None:
    from saisei.journey.models import Patient
    from saisei.journey.services.intake import portal_contact_email, portal_link_issue

    coordinator = User.objects.get(username=Role.COORDINATOR)
    mine = Patient.objects.filter(organisation=coordinator.organisation).order_by("pk")
    patient = next(p for p in mine if portal_contact_email(p))
    _, token = portal_link_issue(actor=coordinator, patient=patient, send=False)
    client = Client()
    client.post(f"/journey/portal/enter/{token}/")
    opened, problems = _walk(client, "/journey/portal/", prefix="/journey/portal/", limit=15)
    assert opened >= 2
    assert not problems, "\n".join(problems)


def test_no_template_holds_inline_script_or_style() -> None:
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    bad = []
    for path in SAISEI.rglob("templates/**/*.html"):
        text = path.read_text()
        for pattern in (inline_script, handler, re.compile(r"javascript:", re.I)):
            bad += [f"{path.relative_to(SAISEI)}: {m.group(0)}" for m in pattern.finditer(text)]
        bad += [f"{path.relative_to(SAISEI)}: <style>" for _ in re.finditer(r"<style", text)]
        bad += [f"{path.relative_to(SAISEI)}: style=" for _ in re.finditer(r"\sstyle=", text)]
    assert not bad, "\n".join(bad)


def test_api_answers_are_not_stored_and_static_files_may_be(
    db: Any, api_for: Any, org: Any, make_user: Any
) -> None:
    api = api_for(make_user("coordinator", org))
    ok = api.get("/me")
    assert ok.status_code == 200
    assert ok["Cache-Control"] == "no-store"
    refused = Client().get("/api/v1/me")
    assert refused.status_code == 401
    assert refused["Cache-Control"] == "no-store"
    static = Client().get("/static/saisei/saisei.css")
    assert static.status_code == 200
    assert "no-store" not in static.get("Cache-Control", "")


# --- API docs and admin behind the sign-in -------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/docs", "/api/v1/openapi.json"])
def test_api_docs_ask_for_the_sign_in_in_production(
    db: Any, settings: Any, url: str, org: Any, make_user: Any, web_for: Any
) -> None:
    settings.SAISEI_STAFF_ONLY_DOCS = True
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/?next=")
    # A password without the second factor is not enough for an account that uses one.
    qa = make_user("qa_manager", org)
    half = Client()
    half.force_login(qa)
    assert "/accounts/2fa/" in half.get(url)["Location"]
    assert web_for(make_user("coordinator", org)).get(url).status_code == 200


def test_api_docs_are_open_in_demo_mode(db: Any, settings: Any) -> None:
    settings.SAISEI_STAFF_ONLY_DOCS = False
    assert Client().get("/api/v1/openapi.json").status_code == 200


def test_admin_signs_in_through_saisei_in_production(
    db: Any, settings: Any, org: Any, make_user: Any, web_for: Any
) -> None:
    settings.SAISEI_STAFF_ONLY_DOCS = True
    client = Client()
    resp = client.get("/admin/", follow=True)
    assert resp.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    # Django's own admin form (password only, no lockout) is not offered.
    assert client.post("/admin/login/", {"username": "x", "password": "y"}).status_code == 302
    not_staff = web_for(make_user("coordinator", org))
    assert not_staff.get("/admin/", follow=True).status_code == 403
    staff = web_for(make_user("org_admin", org, is_staff=True, is_superuser=True))
    assert staff.get("/admin/").status_code == 200


# --- Health probes -------------------------------------------------------------------------


def test_liveness_answers_without_a_known_host_or_https(settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["saisei.example.jp"]
    settings.SECURE_SSL_REDIRECT = True
    resp = Client().get("/health", HTTP_HOST="10.1.2.3:8000")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}
    assert resp["Cache-Control"] == "no-store"


def test_readiness_checks_the_database_and_migrations(db: Any) -> None:
    resp = Client().get("/health/ready")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "checks": {"database": True, "migrations": True}}
    assert resp["Cache-Control"] == "no-store"


def test_readiness_is_503_when_the_database_does_not_answer(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DatabaseError

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(health.connection, "cursor", broken)
        resp = Client().get("/health/ready")
    assert resp.status_code == 503
    assert resp.json()["checks"] == {"database": False, "migrations": False}


# --- Structured logs -----------------------------------------------------------------------


def test_json_formatter_writes_one_object_per_line_with_the_request_fields() -> None:
    record = logging.LogRecord("saisei.request", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    record.request_id = "abc-123"
    record.method, record.path, record.status, record.duration_ms = "GET", "/x", 200, 1.5
    line = JsonFormatter().format(record)
    assert "\n" not in line
    out = json.loads(line)
    assert out["level"] == "INFO" and out["logger"] == "saisei.request"
    assert out["message"] == "GET /x"
    assert (out["request_id"], out["method"], out["path"], out["status"]) == (
        "abc-123",
        "GET",
        "/x",
        200,
    )
    assert out["duration_ms"] == 1.5
    assert dt.datetime.fromisoformat(out["time"]).tzinfo is not None


def test_every_line_logged_during_a_request_carries_its_id(db: Any) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger("saisei.request"), logging.getLogger("saisei.somewhere")]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)

    def view(request: Any) -> Any:
        logging.getLogger("saisei.somewhere").warning("inside the view")
        from django.http import HttpResponse

        return HttpResponse(status=418)

    from saisei.core.middleware import RequestIdMiddleware

    app = RequestIdMiddleware(RequestLogMiddleware(view))
    try:
        from django.test import RequestFactory

        request = RequestFactory().get("/journey/x", HTTP_X_REQUEST_ID="req-42")
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()
        app(request)
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
            lg.setLevel(logging.NOTSET)
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert [x["request_id"] for x in lines] == ["req-42", "req-42"]
    access = lines[-1]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/journey/x", 418)
    assert access["duration_ms"] >= 0


# --- The daily run -------------------------------------------------------------------------


def _at(hour: int, minute: int = 0, day: int = 7) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=TOKYO)


def test_the_daily_run_is_due_from_the_set_time_in_japan(settings: Any) -> None:
    settings.SAISEI_DAILY_AT = "02:00"
    assert schedule.due_day(_at(1, 59)) is None
    assert schedule.due_day(_at(2, 0)) == dt.date(2026, 12, 7)
    # 18:00 UTC on the 6th is 03:00 on the 7th in Tokyo.
    assert schedule.due_day(dt.datetime(2026, 12, 6, 18, 0, tzinfo=dt.UTC)) == dt.date(2026, 12, 7)
    settings.SAISEI_DAILY_AT = "off"
    assert schedule.due_day(_at(23)) is None


def test_a_bad_daily_time_is_a_clear_error(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.SAISEI_DAILY_AT = "2 am"
    with pytest.raises(ImproperlyConfigured, match="SAISEI_DAILY_AT"):
        schedule.daily_at()


def test_a_day_is_claimed_once(db: Any) -> None:
    day = dt.date(2026, 12, 7)
    assert schedule.daily_claim(day=day, by="worker-a") is True
    assert schedule.daily_claim(day=day, by="worker-b") is False
    assert DailyRun.objects.get().claimed_by == "worker-a"
    assert schedule.daily_claim(day=day + dt.timedelta(days=1), by="worker-b") is True


def test_the_worker_runs_the_daily_jobs_once_a_day(db: Any, settings: Any) -> None:
    settings.SAISEI_DAILY_AT = "02:00"
    runs: list[str] = []

    def daily() -> None:
        out = io.StringIO()
        call_command("daily", stdout=out)
        runs.append(out.getvalue())

    assert schedule.run_if_due(run=daily, now=_at(1, 0)) is False
    assert schedule.run_if_due(run=daily, now=_at(2, 1), by="a") is True
    assert schedule.run_if_due(run=daily, now=_at(9, 0), by="b") is False
    assert schedule.run_if_due(run=daily, now=_at(2, 5, day=8), by="b") is True
    assert len(runs) == 2 and all(runs)
    assert [r.claimed_by for r in DailyRun.objects.order_by("day")] == ["a", "b"]


def test_a_failed_daily_run_leaves_the_day_for_a_retry(db: Any, settings: Any) -> None:
    settings.SAISEI_DAILY_AT = "02:00"

    def failing() -> None:
        raise RuntimeError("mail server down")

    scheduler = schedule.DailyScheduler(run=failing)
    scheduler.tick(now=_at(2, 30))  # logs the failure; the worker goes on
    assert scheduler.failed_at is not None
    assert not DailyRun.objects.exists()
    assert schedule.run_if_due(run=lambda: None, now=_at(3, 0), by="retry") is True


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_at_once_run_the_day_once(settings: Any) -> None:
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL (concurrent connections)")
    settings.SAISEI_DAILY_AT = "02:00"
    ran: list[str] = []
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        try:
            barrier.wait()
            results.append(
                schedule.run_if_due(run=lambda: ran.append(name), now=_at(2, 0), by=name)
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [False, True]
    assert len(ran) == 1
    assert DailyRun.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_worker_thread_runs_the_day_once_however_often_it_looks(settings: Any) -> None:
    if connections["default"].vendor != "postgresql":
        pytest.skip("needs PostgreSQL (a second connection from the thread)")
    settings.SAISEI_DAILY_AT = "00:00"  # due at once, whenever the test runs
    ran: list[int] = []
    scheduler = schedule.DailyScheduler(run=lambda: ran.append(1), interval=0.05)
    scheduler.start()
    try:
        for _ in range(200):
            if ran and DailyRun.objects.exists():
                break
            threading.Event().wait(0.05)
        threading.Event().wait(0.3)  # several more looks at the same day
    finally:
        scheduler.stop()
        scheduler.join(10)
    assert not scheduler.is_alive()
    assert ran == [1]
    assert DailyRun.objects.count() == 1
