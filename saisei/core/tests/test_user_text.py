"""Pages speak to people: no raw codes, no internal notes, numbers as people write them.

Every demo role walks the pages it can reach from home (and a family walks the portal), and
the visible text is searched for what a reader should never meet: snake_case codes such as
``no_growth`` or ``mixedlm_slope``, internal references such as "facts §3.2" or
"[ASSUMPTION]", and machine number formats such as ``1.000e+08``.
"""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from saisei.core import services as core_services
from saisei.core.demo import load_demo
from saisei.core.models import Role, User
from saisei.core.numbers import cells, power_of_ten

# The audit ledger lists action codes on purpose: auditors filter by them.
SKIP_PREFIXES = ("/audit/", "/api/", "/static/", "/admin/", "/i18n/")
SKIP_WORDS = ("logout", "/exit", "/enter/", ".ics", ".csv", ".json", ".png", ".pdf", "export")
PAGES_PER_ROLE = 45

URL = re.compile(r"https?://\S+")
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
INTERNAL = re.compile(
    r"facts\s*§|facts/|\[ASSUMPTION|\[UNCERTAIN|\[U\]|\[V\]|\[S\]|\bTODO\b|\d\.\d+e[+-]\d\d",
    re.IGNORECASE,
)
# True identifiers a reader may see: login names of the demo staff (shown as "signed in as").
ALLOWED = frozenset(Role.values)


class _VisibleText(HTMLParser):
    """The text a reader sees (and hears: titles, alt text, labels), and the page's links."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0
        self.parts: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style", "code"):
            self.hidden += 1
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        for name in ("title", "alt", "aria-label", "placeholder"):
            if a.get(name):
                self.parts.append(str(a[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _walk(client: Client, start: str, *, prefix: str = "/", limit: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    queue = [start]
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        assert resp.status_code < 500, url
        if resp.status_code != 200 or "html" not in resp.get("Content-Type", ""):
            continue
        page = _VisibleText()
        page.feed(resp.content.decode())
        text = " ".join(page.parts)
        # A web address in a citation is for looking the source up, not a code.
        words = URL.sub(" ", text)
        bad = [t for t in SNAKE_CASE.findall(words) if t not in ALLOWED]
        bad += [m.group(0) for m in INTERNAL.finditer(text)]
        if bad:
            found[url] = sorted(set(bad))
        for link in page.links:
            href = link.split("#")[0].split("?")[0]
            if (
                href.startswith(prefix)
                and not href.startswith(SKIP_PREFIXES)
                and not any(w in href for w in SKIP_WORDS)
                and href not in seen
            ):
                queue.append(href)
    return found


@pytest.fixture
def world(db: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    # The demo signs as fast as it can and would otherwise wait for fresh authenticator steps.
    monkeypatch.setattr(core_services, "TOTP_VALID_WINDOW", 10_000)
    return load_demo(stdout=io.StringIO())


def test_no_page_shows_a_raw_code_or_an_internal_note(world: Any, web_for: Any) -> None:
    problems: dict[str, list[str]] = {}
    for role in Role.values:
        user = User.objects.get(username=role)
        problems.update(_walk(web_for(user), "/", limit=PAGES_PER_ROLE))
    assert not problems, "\n".join(f"{url}: {', '.join(t)}" for url, t in problems.items())


def test_the_family_portal_shows_no_raw_code(world: Any) -> None:
    from saisei.journey.models import Patient
    from saisei.journey.services.intake import portal_contact_email, portal_link_issue

    coordinator = User.objects.get(username=Role.COORDINATOR)
    mine = Patient.objects.filter(organisation=coordinator.organisation).order_by("pk")
    patient = next(p for p in mine if portal_contact_email(p))
    _, token = portal_link_issue(actor=coordinator, patient=patient, send=False)
    client = Client()
    client.post(f"/journey/portal/enter/{token}/")
    problems = _walk(client, "/journey/portal/", prefix="/journey/portal/", limit=20)
    assert not problems, problems


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (1e8, "1.0 × 10⁸"),
        ("1.000e+08", "1.0 × 10⁸"),
        (100000000.0, "1.0 × 10⁸"),
        (235_000_000, "2.35 × 10⁸"),
        (149_999_999, "1.49999999 × 10⁸"),
        (2.3e8, "2.3 × 10⁸"),
        (9500, "9,500"),
        (0, "0"),
        (None, "—"),
    ],
)
def test_cell_counts_are_written_as_people_write_them(value: Any, written: str) -> None:
    assert cells(value) == written


def test_small_numbers_keep_their_decimals() -> None:
    assert power_of_ten(12.5) == "12.5"
    assert power_of_ten("abc") == "abc"
