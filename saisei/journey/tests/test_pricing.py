"""Quotes: totals add up to the yen, the commission is always shown, and refunds per stage are exact."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.journey._errors import JourneyError
from saisei.journey.pricing import (
    ExtraItem,
    FxRate,
    PriceList,
    RefundPolicy,
    TaxRule,
    build_quote_lines,
    refund_schedule,
)

PRICES = PriceList(
    consultation=30_000,
    tests=20_000,
    harvest=200_000,
    culture_processing=1_000_000,
    infusion=300_000,
    follow_up=15_000,
    assessment=25_000,
    interpreter_per_day=40_000,
    guarantor_fee=100_000,
)


def _quote(**kw):
    args = {
        "price_list": PRICES,
        "infusions": 3,
        "follow_ups": 2,
        "interpreter_days": 4,
        "commission_rate_or_amount": Decimal("0.10"),
    }
    args.update(kw)
    return build_quote_lines(**args)


def test_every_item_is_listed_and_totals_add_up():
    q = _quote(commission_payer="patient")
    codes = [ln.code for ln in q.lines]
    assert codes[:4] == ["consultation", "tests", "harvest", "culture"]
    assert [c for c in codes if c.startswith("infusion")] == [
        "infusion_1",
        "infusion_2",
        "infusion_3",
    ]
    assert {"follow_up_1", "follow_up_2", "interpreter", "guarantor"} <= set(codes)
    subtotal = (
        30_000 + 20_000 + 200_000 + 1_000_000 + 3 * 300_000 + 2 * 15_000 + 4 * 40_000 + 100_000
    )
    assert q.subtotal == subtotal == sum(ln.amount_jpy for ln in q.lines)
    assert q.commission_line.amount_jpy == subtotal // 10
    assert q.tax == (subtotal + subtotal // 10) // 10
    assert q.total_jpy == subtotal + q.commission_line.amount_jpy + q.tax


def test_commission_paid_by_the_clinic_is_shown_but_not_charged():
    q = _quote(commission_payer="clinic")
    assert q.commission_line.amount_jpy == q.subtotal // 10
    assert not q.commission_line.included_in_total
    assert q.total_jpy == q.subtotal + q.tax
    label = q.commission_line.label.render(language="en")
    assert "paid by the clinic" in label


@pytest.mark.parametrize("payer", ["clinic", "patient"])
def test_zero_commission_still_has_its_own_line(payer):
    q = _quote(commission_rate_or_amount=0, commission_payer=payer)
    assert q.commission_line.code == "commission"
    assert q.commission_line.amount_jpy == 0
    assert q.as_dict(language="en")["commission"]["amount_jpy"] == 0


def test_fixed_commission_amount_is_used_as_given():
    q = _quote(commission_rate_or_amount=150_000, commission_payer="patient")
    assert q.commission_line.amount_jpy == 150_000


@pytest.mark.parametrize("bad", [0.1, Decimal("1"), Decimal("-0.1"), -5, True])
def test_float_or_out_of_range_commission_is_refused(bad):
    with pytest.raises(JourneyError):
        _quote(commission_rate_or_amount=bad)


def test_negative_or_fractional_prices_are_refused():
    with pytest.raises(JourneyError):
        _quote(price_list=PriceList(1, 1, 1, 1, -1))
    with pytest.raises(JourneyError):
        _quote(price_list=PriceList(1, 1, 1, 1, 1.5))


def test_tax_inclusive_prices_show_the_tax_part_without_adding_it():
    q = _quote(tax_rule=TaxRule(prices_include_tax=True), commission_payer="clinic")
    assert q.total_jpy == q.subtotal
    assert q.tax == int(Decimal(q.subtotal) * Decimal("0.10") / Decimal("1.10"))


def test_tax_exempt_categories_are_left_out_of_the_tax_base():
    prices = PriceList(**{**PRICES.__dict__, "tax_exempt_categories": frozenset({"guarantor"})})
    q = _quote(price_list=prices, commission_payer="clinic")
    assert q.tax == (q.subtotal - 100_000) // 10


def test_indicative_conversion_shows_rate_date_and_source():
    fx = FxRate("USD", Decimal("150.25"), dt.date(2026, 11, 27), "example bank mid rate")
    q = _quote(fx=fx)
    assert q.converted.amount == (Decimal(q.total_jpy) / Decimal("150.25")).quantize(
        Decimal("0.01")
    )
    note = q.converted.note.render(language="en")
    assert "150.25" in note and "2026-11-27" in note and "Indicative" in note
    krw = _quote(fx=FxRate("KRW", Decimal("0.1075"), dt.date(2026, 11, 27), "x", minor_units=0))
    assert krw.converted.amount == krw.converted.amount.to_integral_value()


def test_quote_serialises_for_the_api():
    data = _quote(fx=FxRate("EUR", Decimal("162"), dt.date(2026, 11, 27), "ECB")).as_dict(
        language="en"
    )
    json.dumps(data)
    assert data["total_jpy"] == sum(ln["amount_jpy"] for ln in data["lines"]) + data["tax_jpy"]


def test_refund_at_each_stage_follows_the_policy():
    q = _quote(commission_payer="clinic", follow_ups=0, interpreter_days=0)
    stages = {s.code: s for s in refund_schedule(quote=q)}
    assert list(stages) == [
        "before_tests",
        "after_tests",
        "after_culture_ordered",
        "after_infusion_1",
        "after_infusion_2",
        "after_infusion_3",
    ]

    def gross(net):
        return net + net // 10

    assert stages["before_tests"].refundable_jpy == q.total_jpy - gross(100_000)
    assert stages["after_tests"].refundable_jpy == q.total_jpy - gross(150_000)
    # Culture is ordered on harvest day, so harvest and culture are then spent in full.
    assert stages["after_culture_ordered"].refundable_jpy == q.total_jpy - gross(1_350_000)
    assert stages["after_infusion_1"].refundable_jpy == q.total_jpy - gross(1_650_000)
    assert stages["after_infusion_3"].refundable_jpy == q.total_jpy - gross(2_250_000) == 0
    assert "tests" in stages["after_tests"].kept_lines


def test_refund_includes_patient_paid_commission_and_cancellation_fees():
    q = _quote(commission_payer="patient")
    policy = RefundPolicy(
        consumed_at={**RefundPolicy().consumed_at, "commission": "before_tests"},
        cancellation_fee_jpy={"before_tests": 10_000},
    )
    first = refund_schedule(quote=q, policy=policy)[0]
    kept_net = 100_000 + q.commission_line.amount_jpy
    assert first.kept_jpy == kept_net + kept_net // 10
    assert first.fee_jpy == 10_000
    assert first.refundable_jpy == q.total_jpy - first.kept_jpy - 10_000


def test_extras_follow_their_own_refund_stage():
    prices = PriceList(
        **{
            **PRICES.__dict__,
            "extras": (ExtraItem("storage", "Cell storage", 50_000, "after_culture_ordered"),),
        }
    )
    q = _quote(price_list=prices)
    stages = {s.code: s for s in refund_schedule(quote=q)}
    assert "storage" not in stages["after_tests"].kept_lines
    assert "storage" in stages["after_culture_ordered"].kept_lines


def test_unknown_refund_stage_is_refused():
    with pytest.raises(JourneyError):
        refund_schedule(quote=_quote(), policy=RefundPolicy(consumed_at={"tests": "someday"}))


@settings(max_examples=200, deadline=None)
@given(
    prices=st.lists(st.integers(0, 5_000_000), min_size=9, max_size=9),
    infusions=st.integers(1, 10),
    follow_ups=st.integers(0, 6),
    days=st.integers(0, 20),
    rate=st.integers(0, 30).map(lambda p: Decimal(p) / 100),
    payer=st.sampled_from(["clinic", "patient"]),
    inclusive=st.booleans(),
)
def test_totals_and_refunds_hold_for_any_price_list(
    prices, infusions, follow_ups, days, rate, payer, inclusive
):
    q = build_quote_lines(
        price_list=PriceList(*prices),
        infusions=infusions,
        follow_ups=follow_ups,
        interpreter_days=days,
        commission_rate_or_amount=rate,
        commission_payer=payer,
        tax_rule=TaxRule(prices_include_tax=inclusive),
    )
    charged_commission = q.commission_line.amount_jpy if payer == "patient" else 0
    assert q.subtotal == sum(ln.amount_jpy for ln in q.lines)
    assert q.total_jpy == q.subtotal + charged_commission + (0 if inclusive else q.tax)
    assert all(isinstance(ln.amount_jpy, int) for ln in q.lines)
    schedule = refund_schedule(quote=q)
    refunds = [s.refundable_jpy for s in schedule]
    assert refunds == sorted(refunds, reverse=True)
    assert all(0 <= r <= q.total_jpy for r in refunds)
    assert len(schedule) == 3 + infusions
