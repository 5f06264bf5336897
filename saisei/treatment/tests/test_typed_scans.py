"""Scanning as people scan (issue 15, item 3): the bedside fields take what a USB scanner sends
and what a person types from the printed wristband and bag label, and a wrong format says what
was expected instead of being checked as a patient or a bag."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.processing.isbt128 import parse_scan
from saisei.processing.isbt128.checkchar import check_character
from saisei.processing.models import Dose
from saisei.treatment.models import BedsideVerification
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    w = make_world(org)
    step = w.steps[0]
    step.planned_date = timezone.localdate()
    step.save()
    return w


def _bag(world: Any) -> Dose:
    return Dose.objects.select_related("lot__donation").get(
        lot__donation__course=world.course, sequence=1
    )


def printed(world: Any, *, flags: bool = True, product: bool = True, k: str | None = None) -> str:
    """What a person reads off the bag label: DIN in groups, the flag digits, K, product code."""
    bag = _bag(world)
    din = bag.din
    parts = [din[:5], din[5:7], din[7:]]
    if flags:
        parts.append(bag.lot.donation.din_flags)
    parts.append(k or check_character(data=din))
    if product:
        parts += [bag.product_code[:5], bag.product_code[5:]]
    return " ".join(parts)


def post(client: Any, world: Any, *, wristband: str, label: str) -> Any:
    return client.post(
        reverse("treatment:bedside", args=[world.steps[0].external_id]),
        {
            "patient_scan": wristband,
            "product_scan": label,
            "route": "iv",
            "step": str(world.steps[0].external_id),
        },
    )


@pytest.mark.parametrize(
    "how",
    ["scanner with Enter", "typed with flags", "typed without flags", "typed lower case"],
)
def test_what_a_scanner_sends_or_a_person_types_passes_the_check(web_for, world, how):
    wristband, label = world.wristband, world.labels[0]
    if how == "scanner with Enter":
        wristband, label = wristband + "\r\n", label + "\r\n"
    elif how == "typed with flags":
        label = printed(world)
    elif how == "typed without flags":
        label = printed(world, flags=False)
        wristband = wristband.replace("-", " ")
    else:
        label = printed(world).lower()
        wristband = wristband.lower().replace("-", "")
    r = post(web_for(world.nurse), world, wristband=wristband, label=label)
    assert r.status_code == 200, r.content.decode()[:3000]
    assert "All checks passed" in r.content.decode()


@pytest.mark.parametrize(
    ("wristband", "label", "expected"),
    [
        (None, "S1234 1A0", "the DIN with its check character"),
        (None, "hello", "Expected the bar code"),
        ("hello", None, "Expected the patient code printed on the wristband"),
        (None, "wrong-k", "check character"),
    ],
)
def test_a_wrong_format_says_what_was_expected_and_is_no_near_miss(
    web_for, world, wristband, label, expected
):
    if label == "wrong-k":
        right = check_character(data=_bag(world).din)
        label = printed(world, k="0" if right != "0" else "1")
    r = post(
        web_for(world.nurse),
        world,
        wristband=wristband or world.wristband,
        label=label or world.labels[0],
    )
    assert r.status_code == 400
    assert expected in r.content.decode()
    assert not BedsideVerification.objects.exists()


def test_a_well_formed_label_of_another_bag_is_still_refused_and_recorded(web_for, world):
    other = make_world(world.org, base=world)
    r = post(web_for(world.nurse), world, wristband=world.wristband, label=other.labels[0])
    assert r.status_code == 409
    assert BedsideVerification.objects.filter(passed=False).count() == 1


def test_the_bedside_page_shows_the_codes_to_scan_only_in_demo_mode(web_for, world, settings):
    url = reverse("treatment:bedside", args=[world.steps[0].external_id])
    settings.PRODUCTION = False
    html = web_for(world.nurse).get(url).content.decode()
    assert 'data-testid="demo-codes"' in html and _bag(world).din in html
    settings.PRODUCTION = True
    html = web_for(world.nurse).get(url).content.decode()
    assert 'data-testid="demo-codes"' not in html


def test_scan_fields_have_a_focus_style():
    from pathlib import Path

    css = (Path(__file__).parents[2] / "static" / "saisei" / "saisei.css").read_text()
    assert "input.scan:focus" in css


DIN = "A999926000001"
PRODUCT = "S99991A0"


@settings(max_examples=60, deadline=None)
@given(
    # Typed text has at least one space (scanner data has none, and only then are printed flag
    # digits skipped).
    cuts=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=6, unique=True),
    flags=st.booleans(),
)
def test_typed_label_reads_the_same_however_it_is_spaced(cuts, flags):
    compact = DIN + ("68" if flags else "") + check_character(data=DIN) + PRODUCT
    text = compact
    for cut in sorted(cuts, reverse=True):
        if cut < len(text):
            text = text[:cut] + " " + text[cut:]
    result = parse_scan(text)
    assert result.valid, [s.as_dict() for s in result.structures]
    assert [s.type for s in result.structures] == ["din", "product_code"]
    assert result.structures[0].fields["din"] == DIN
    assert result.structures[1].fields["product_code"] == PRODUCT
