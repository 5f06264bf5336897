"""The README tour, role by role, on the freshly loaded demo at 1366 and 1024 px (issue 15).

Each role signs in, its home page starts with its worklists, the header stays one row (entries
that do not fit are in "More"), nothing overflows sideways, and each tour step's page shows what
the README promises. Screenshots go to test-artifacts/tour-<role>-<width>.png.
"""

from __future__ import annotations

import io
from typing import Any

from saisei.core.demo import DEMO_PASSWORD, demo_otp, load_demo
from saisei.core.models import User
from tests.browser.conftest import screenshot

# role -> [(path, text the page must show)], after the home page
TOUR: dict[str, list[tuple[str, str]]] = {
    "coordinator": [("/journey/inquiries/", "INQ-"), ("/journey/patients/", "P2026-0001")],
    "physician": [("/treatment/", "P2026-0001"), ("/safety/", "AE-")],
    "nurse": [("/treatment/", "P2026-0001")],
    "cpc_technician": [("/processing/", "")],
    "qa_manager": [("/processing/", "")],
    "compliance_officer": [("/regulatory/", "")],
    "committee_reviewer": [],
    "org_admin": [("/audit/", "")],
}
WIDTHS = (1366, 1024)


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    if "two-factor" in page.content().lower() or "/2fa" in page.url:
        user = User.objects.get(username=username)
        page.locator("main input[type=text], main input[inputmode]").first.fill(demo_otp(user))
        with page.expect_navigation():
            page.click("main button[type=submit]")


def _check_layout(page: Any, where: str) -> None:
    header = page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height")
    assert header < 72, f"{where}: header wraps ({header}px)"
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{where}: page scrolls sideways by {overflow}px"


def test_every_role_walks_its_tour_at_laptop_and_tablet_widths(
    browser: Any, live_server: Any
) -> None:
    load_demo(stdout=io.StringIO())
    for role, steps in TOUR.items():
        for width in WIDTHS:
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.set_default_timeout(20000)
            _sign_in(page, live_server.url, role)
            where = f"{role}@{width}"
            assert page.locator("main h1").first.is_visible(), where
            assert page.locator("main .card h2").count() > 0, f"{where}: no worklist on home"
            _check_layout(page, where)
            more = page.locator(".navmore:not([hidden]) summary")
            if more.count():
                more.click()
                assert page.locator(".navmore details[open] a").count() > 0, where
            screenshot(page, f"tour-{role}-{width}")
            for path, text in steps:
                response = page.goto(f"{live_server.url}{path}")
                assert response is not None and response.status == 200, f"{where} {path}"
                if text:
                    assert text in page.inner_text("main"), f"{where} {path}: no {text!r}"
                _check_layout(page, f"{where} {path}")
            context.close()
