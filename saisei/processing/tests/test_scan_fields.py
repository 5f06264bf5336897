"""CPC scan fields read what a scanner sends and what a person types from the label (issue 15).

The eye-readable DIN is printed in groups with its check character (A9999 26 000001 K); a person
types it with the spaces. A USB scanner types the bar code and presses Enter. An entry that is
not a label says what was expected instead of "no bag matches".
"""

from __future__ import annotations

from typing import Any

import pytest

from saisei.processing.forms import DonationHandoverForm, HandoverForm, ScanForm
from saisei.processing.isbt128.checkchar import check_character
from saisei.processing.tests.test_views import _released_dose

pytestmark = pytest.mark.django_db


def _typed(din: str, product_code: str = "") -> str:
    """The DIN as printed under the bar code: 5 + 2 + 6 characters, then the check character."""
    text = f"{din[:5]} {din[5:7]} {din[7:]} {check_character(data=din)}"
    return f"{text} {product_code}" if product_code else text


def test_the_typed_din_with_spaces_finds_the_bag(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    dose = _released_dose(tech, qa, patient)
    client = web_for(tech)
    res = client.get("/processing/doses/find/", {"scan": _typed(dose.din)})
    assert res.status_code == 302 and str(dose.external_id) in res["Location"]


def test_a_scanner_s_trailing_enter_and_spaces_are_ignored(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    dose = _released_dose(tech, qa, patient)
    scan = f"  ={dose.din}{dose.lot.donation.din_flags}=<{dose.product_code}\r\n"
    res = web_for(tech).get("/processing/doses/find/", {"scan": scan})
    assert res.status_code == 302 and str(dose.external_id) in res["Location"]


@pytest.mark.parametrize("form_class", [ScanForm, HandoverForm, DonationHandoverForm])
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("hello", "e.g. A9999 26 000001 K"),
        ("P2026-0001", "e.g. A9999 26 000001 K"),
        ("=A999926000001", "16 were expected"),
    ],
)
def test_a_wrong_format_says_what_was_expected(form_class: Any, entry: str, expected: str) -> None:
    form = form_class(data={"scan": entry})
    assert not form.is_valid()
    assert any(expected in message for message in form.errors["scan"])


def test_a_mistyped_check_character_is_caught_before_any_bag_is_looked_up(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    dose = _released_dose(tech, qa, patient)
    good = _typed(dose.din)
    wrong = good[:-1] + ("A" if good[-1] != "A" else "B")
    res = web_for(tech).get("/processing/doses/find/", {"scan": wrong})
    assert res.status_code == 404
    assert "check character" in res.content.decode()


def test_every_scan_field_has_the_scanner_hooks(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    """data-scan lets the page's script move on or submit at the scanner's Enter; class scan
    gives the strong focus ring (saisei.css)."""
    dose = _released_dose(tech, qa, patient)
    client = web_for(tech)
    for url in (
        "/processing/doses/find/",
        f"/processing/doses/{dose.external_id}/handover/",
        f"/processing/donations/{dose.lot.donation.external_id}/",
    ):
        html = client.get(url).content.decode()
        assert 'data-scan="1"' in html and 'class="scan"' in html, url
