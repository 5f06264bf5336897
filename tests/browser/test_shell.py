"""Browser smoke test: two roles sign in, see their own navigation, and switch to Japanese."""

from __future__ import annotations

import io

from saisei.core.demo import DEMO_PASSWORD, load_demo
from tests.browser.conftest import screenshot, sign_in


def test_two_roles_sign_in_and_switch_to_japanese(page):
    load_demo(stdout=io.StringIO())

    sign_in(page, "coordinator", DEMO_PASSWORD)
    page.wait_for_selector("h1")
    assert "Welcome" in page.inner_text("h1")
    assert page.get_by_role("navigation", name="Main navigation").is_visible()
    assert "Audit ledger" not in page.inner_text("nav.mainnav")
    # The menu submits its form on change; wait for that navigation, not the current page.
    with page.expect_navigation():
        page.select_option("#lang-select", "ja")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert "ようこそ" in page.inner_text("h1")
    screenshot(page, "home-coordinator-ja")
    page.click(".usermenu summary")  # sign-out lives in the user menu
    page.click("text=ログアウト")

    sign_in(page, "compliance_officer", DEMO_PASSWORD)
    page.wait_for_selector("h1")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert "監査" in page.text_content("nav.mainnav")  # may be folded under "More" (その他)
    audit = page.locator("nav.mainnav a", has_text="監査台帳")
    if not audit.is_visible():  # entries that do not fit the header row are under "More"
        page.click(".navmore:not([hidden]) summary")
    audit.click()
    page.wait_for_selector("table")
    assert page.locator("table tbody tr").count() > 0
    screenshot(page, "audit-ja")
    # The menu submits its form on change; wait for that navigation, not the current page.
    with page.expect_navigation():
        page.select_option("#lang-select", "en")
    assert page.locator("html").get_attribute("lang") == "en"
