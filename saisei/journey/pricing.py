"""Itemised quotes in whole yen, the facilitator's commission always shown, and refunds per stage.

Families meet price changes after arrival and hidden commissions (journey facts §5); a quote
therefore lists every item, shows the commission as its own line even when it is zero, states
what is refundable at each stage, and gives an indicative conversion with its rate and date.
Money is `int` yen; rates are `Decimal`; floats are refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from django.utils.translation import gettext_noop

from ._errors import JourneyError
from ._messages import Message

Payer = Literal["patient", "clinic"]

CATEGORIES: tuple[str, ...] = (
    "consultation",
    "tests",
    "harvest",
    "culture",
    "infusion",
    "follow_up",
    "assessment",
    "interpreter",
    "guarantor",
    "other",
    "commission",
)

LINE_LABELS: dict[str, str] = {
    "consultation": gettext_noop("First consultation"),
    "tests": gettext_noop("Pre-treatment tests, including infection blood tests"),
    "harvest": gettext_noop("Fat harvest under local anaesthetic"),
    "culture": gettext_noop("Cell culture and processing"),
    "infusion": gettext_noop("Infusion %(n)s of %(total)s"),
    "follow_up": gettext_noop("Follow-up visit %(n)s"),
    "assessment": gettext_noop("Assessment %(n)s"),
    "interpreter": gettext_noop("Medical interpreter, %(days)s day(s)"),
    "guarantor": gettext_noop("Visa guarantor fee (registered guarantor)"),
    "commission_patient": gettext_noop("Facilitator's commission, paid by you"),
    "commission_clinic": gettext_noop(
        "Facilitator's commission, paid by the clinic out of the prices above (not added to "
        "your total)"
    ),
}


def _money_error(field_name: str, msgid: str, **params: Any) -> JourneyError:
    message = Message(f"pricing.invalid_{field_name}", msgid, params)
    return JourneyError(f"pricing.invalid_{field_name}", message, {field_name: message})


def _yen(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _money_error(
            field_name,
            gettext_noop("%(field)s must be a whole, non-negative yen amount."),
            field=field_name,
        )
    return value


@dataclass(frozen=True)
class ExtraItem:
    """Any further priced item (cell storage, transfers); `consumed_at` is the refund stage."""

    code: str
    label: str
    amount_jpy: int
    consumed_at: str = "after_tests"
    taxable: bool = True


@dataclass(frozen=True)
class PriceList:
    """A clinic's (or package's) prices in yen before tax, per item or per visit or day."""

    consultation: int
    tests: int
    harvest: int
    culture_processing: int
    infusion: int
    follow_up: int = 0
    assessment: int = 0
    interpreter_per_day: int = 0
    guarantor_fee: int = 0
    extras: tuple[ExtraItem, ...] = ()
    tax_exempt_categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TaxRule:
    """Consumption tax as data: rate, rounding and whether list prices already include it.

    Self-pay (jiyu shinryo) care is outside public insurance, and the one published hospital
    price in the facts is quoted including tax (journey facts §2, oyumino-central.jp); so the
    default treats every line as taxable at the standard 10 % rate. [UNCERTAIN: the facts do not
    state the rate or which items are exempt; confirm with the clinic's tax adviser.]
    """

    rate: Decimal = Decimal("0.10")
    rounding: str = ROUND_DOWN
    prices_include_tax: bool = False
    source: str = (
        "Consumption Tax Act, standard rate 10 %; self-pay prices are published including tax "
        "(https://oyumino-central.jp/department/stemcell/cost/). The rate and exempt items are "
        "set by the clinic with its tax adviser"
    )


DEFAULT_TAX = TaxRule()


@dataclass(frozen=True)
class FxRate:
    """An indicative rate: how many yen buy one unit of `currency`, as of `as_of`, from `source`."""

    currency: str
    jpy_per_unit: Decimal
    as_of: dt.date
    source: str
    minor_units: int = 2


@dataclass(frozen=True)
class Converted:
    currency: str
    amount: Decimal
    jpy_per_unit: Decimal
    as_of: dt.date
    source: str
    note: Message


@dataclass(frozen=True)
class QuoteLine:
    """One priced line. `sequence` numbers repeated items (infusion 1..n)."""

    code: str
    category: str
    label: Message
    quantity: int
    unit_price_jpy: int
    amount_jpy: int
    taxable: bool
    sequence: int = 1
    consumed_at: str | None = None
    included_in_total: bool = True

    def as_dict(self, *, language: str | None = None) -> dict[str, Any]:
        return {
            "code": self.code,
            "category": self.category,
            "label": self.label.render(language=language),
            "quantity": self.quantity,
            "unit_price_jpy": self.unit_price_jpy,
            "amount_jpy": self.amount_jpy,
            "taxable": self.taxable,
            "included_in_total": self.included_in_total,
        }


@dataclass(frozen=True)
class QuoteCalc:
    """Totals of a quote. total_jpy = subtotal + commission (if the patient pays it) + tax
    (unless prices include tax, when `tax` is the part of the total that is tax)."""

    lines: tuple[QuoteLine, ...]
    subtotal: int
    commission_line: QuoteLine
    tax: int
    total_jpy: int
    converted: Converted | None
    tax_rule: TaxRule = field(default=DEFAULT_TAX)
    infusions: int = 0

    def as_dict(self, *, language: str | None = None) -> dict[str, Any]:
        conv = None
        if self.converted is not None:
            c = self.converted
            conv = {
                "currency": c.currency,
                "amount": str(c.amount),
                "jpy_per_unit": str(c.jpy_per_unit),
                "as_of": c.as_of.isoformat(),
                "source": c.source,
                "note": c.note.render(language=language),
            }
        return {
            "lines": [ln.as_dict(language=language) for ln in self.lines],
            "subtotal_jpy": self.subtotal,
            "commission": self.commission_line.as_dict(language=language),
            "tax_jpy": self.tax,
            "tax_rate": str(self.tax_rule.rate),
            "prices_include_tax": self.tax_rule.prices_include_tax,
            "total_jpy": self.total_jpy,
            "converted": conv,
        }


def _tax_on(amount: int, rule: TaxRule) -> int:
    """Tax on a taxable amount; with tax-inclusive prices, the tax part contained in it."""
    base = Decimal(amount)
    tax = base * rule.rate / (1 + rule.rate) if rule.prices_include_tax else base * rule.rate
    return int(tax.quantize(Decimal(1), rounding=rule.rounding))


def _line(
    code: str,
    category: str,
    msgid: str,
    qty: int,
    unit: int,
    taxable: bool,
    seq: int = 1,
    **params: Any,
) -> QuoteLine:
    return QuoteLine(
        code, category, Message(code, msgid, params), qty, unit, qty * unit, taxable, seq
    )


def build_quote_lines(
    *,
    price_list: PriceList,
    infusions: int,
    follow_ups: int,
    interpreter_days: int,
    commission_rate_or_amount: Decimal | int,
    commission_payer: Payer = "clinic",
    assessments: int = 0,
    tax_rule: TaxRule = DEFAULT_TAX,
    fx: FxRate | None = None,
) -> QuoteCalc:
    """Itemise a quote in whole yen and total it, with the commission line always present.

    A `Decimal` commission is a rate on the subtotal (0 ≤ rate < 1), an `int` a fixed amount.
    When the clinic pays the commission it is disclosed but not added to the patient's total.
    """
    _check_counts(
        infusions=infusions,
        follow_ups=follow_ups,
        interpreter_days=interpreter_days,
        assessments=assessments,
    )
    _check_prices(price_list)
    lines = [
        *_treatment_lines(price_list, infusions=infusions),
        *_visit_lines(
            price_list,
            follow_ups=follow_ups,
            assessments=assessments,
            interpreter_days=interpreter_days,
        ),
        *_extra_lines(price_list),
    ]
    subtotal = sum(ln.amount_jpy for ln in lines)
    commission = _commission(commission_rate_or_amount, subtotal)
    patient_pays = commission_payer == "patient"
    label_key = "commission_patient" if patient_pays else "commission_clinic"
    commission_line = QuoteLine(
        "commission",
        "commission",
        Message("commission", LINE_LABELS[label_key], {}),
        1,
        commission,
        commission,
        patient_pays and _taxable(price_list, "commission"),
        included_in_total=patient_pays,
    )
    taxable_amount = sum(ln.amount_jpy for ln in lines if ln.taxable)
    if commission_line.included_in_total and commission_line.taxable:
        taxable_amount += commission
    tax = _tax_on(taxable_amount, tax_rule)
    total = subtotal + (commission if patient_pays else 0)
    if not tax_rule.prices_include_tax:
        total += tax
    return QuoteCalc(
        lines=tuple(lines),
        subtotal=subtotal,
        commission_line=commission_line,
        tax=tax,
        total_jpy=total,
        converted=_convert(total, fx) if fx else None,
        tax_rule=tax_rule,
        infusions=infusions,
    )


def _check_counts(
    *, infusions: int, follow_ups: int, interpreter_days: int, assessments: int
) -> None:
    for name, value in (
        ("infusions", infusions),
        ("follow_ups", follow_ups),
        ("interpreter_days", interpreter_days),
        ("assessments", assessments),
    ):
        _yen(value, name)
    if infusions < 1:
        raise _money_error("infusions", gettext_noop("A quote needs at least one infusion."))


def _check_prices(pl: PriceList) -> None:
    for name in (
        "consultation",
        "tests",
        "harvest",
        "culture_processing",
        "infusion",
        "follow_up",
        "assessment",
        "interpreter_per_day",
        "guarantor_fee",
    ):
        _yen(getattr(pl, name), name)


def _taxable(pl: PriceList, category: str) -> bool:
    return category not in pl.tax_exempt_categories


def _fixed_line(pl: PriceList, code: str, unit: int) -> QuoteLine:
    """One of a category whose code, category and label share a name."""
    return _line(code, code, LINE_LABELS[code], 1, unit, _taxable(pl, code))


def _numbered_lines(
    pl: PriceList, category: str, unit: int, count: int, **params: Any
) -> list[QuoteLine]:
    """``count`` lines of one category, numbered from 1 (infusions, follow-ups, assessments)."""
    return [
        _line(
            f"{category}_{n}",
            category,
            LINE_LABELS[category],
            1,
            unit,
            _taxable(pl, category),
            n,
            n=n,
            **params,
        )
        for n in range(1, count + 1)
    ]


def _treatment_lines(pl: PriceList, *, infusions: int) -> list[QuoteLine]:
    """Consultation, tests, harvest, culture and each infusion."""
    return [
        _fixed_line(pl, "consultation", pl.consultation),
        _fixed_line(pl, "tests", pl.tests),
        _fixed_line(pl, "harvest", pl.harvest),
        _fixed_line(pl, "culture", pl.culture_processing),
        *_numbered_lines(pl, "infusion", pl.infusion, infusions, total=infusions),
    ]


def _visit_lines(
    pl: PriceList, *, follow_ups: int, assessments: int, interpreter_days: int
) -> list[QuoteLine]:
    """Follow-up visits, assessments, the interpreter's days and the guarantor's fee."""
    lines = [
        *_numbered_lines(pl, "follow_up", pl.follow_up, follow_ups),
        *_numbered_lines(pl, "assessment", pl.assessment, assessments),
    ]
    if interpreter_days:
        lines.append(
            _line(
                "interpreter",
                "interpreter",
                LINE_LABELS["interpreter"],
                interpreter_days,
                pl.interpreter_per_day,
                _taxable(pl, "interpreter"),
                days=interpreter_days,
            )
        )
    if pl.guarantor_fee:
        lines.append(_fixed_line(pl, "guarantor", pl.guarantor_fee))
    return lines


def _extra_lines(pl: PriceList) -> list[QuoteLine]:
    """The price list's own extra items, each as priced there."""
    lines = []
    for extra in pl.extras:
        amount = _yen(extra.amount_jpy, extra.code)
        lines.append(
            QuoteLine(
                extra.code,
                "other",
                Message(extra.code, extra.label, {}),
                1,
                amount,
                amount,
                extra.taxable,
                consumed_at=extra.consumed_at,
            )
        )
    return lines


def _commission(value: Decimal | int, subtotal: int) -> int:
    if isinstance(value, Decimal):
        if not Decimal(0) <= value < Decimal(1):
            raise _money_error(
                "commission",
                gettext_noop(
                    "A commission rate must be at least 0 and below 1 (e.g. 0.15 for 15 %%)."
                ),
            )
        return int((value * subtotal).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return _yen(value, "commission")


def _convert(total: int, fx: FxRate) -> Converted:
    if fx.jpy_per_unit <= 0:
        raise _money_error("fx", gettext_noop("An exchange rate must be positive."))
    quantum = Decimal(1).scaleb(-fx.minor_units)
    amount = (Decimal(total) / fx.jpy_per_unit).quantize(quantum, rounding=ROUND_HALF_UP)
    note = Message(
        "fx_indicative",
        gettext_noop(
            "Indicative only: %(amount)s %(currency)s at %(rate)s yen per %(currency)s on %(date)s "
            "(%(source)s). You pay in yen; your bank's rate on the day of payment applies."
        ),
        {
            "amount": str(amount),
            "currency": fx.currency,
            "rate": str(fx.jpy_per_unit),
            "date": fx.as_of,
            "source": fx.source,
        },
    )
    return Converted(fx.currency, amount, fx.jpy_per_unit, fx.as_of, fx.source, note)


# --- refunds ---------------------------------------------------------------------------------

STAGE_LABELS: dict[str, str] = {
    "before_tests": gettext_noop("If you cancel before the tests"),
    "after_tests": gettext_noop("If you cancel after the consultation and tests"),
    "after_culture_ordered": gettext_noop(
        "If you cancel after the harvest, when the cell culture has been ordered"
    ),
    "after_infusion": gettext_noop("If you stop after infusion %(n)s of %(total)s"),
}


@dataclass(frozen=True)
class RefundPolicy:
    """From which stage each category is spent and no longer refunded; fees kept per stage.

    Defaults follow the published example in journey facts §2: the infection-test fee is kept even
    if the patient proves ineligible, and culture is ordered on harvest day so cancelling after
    that costs the full culture fee. Guarantor work is done before travel. Interpreter and
    commission defaults are assumptions a clinic or facilitator should set.
    """

    consumed_at: Mapping[str, str] = field(
        default_factory=lambda: {
            "guarantor": "before_tests",
            "consultation": "after_tests",
            "tests": "after_tests",
            "interpreter": "after_tests",
            "harvest": "after_culture_ordered",
            "culture": "after_culture_ordered",
            "commission": "after_culture_ordered",
        }
    )
    cancellation_fee_jpy: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundStage:
    """What is kept and what comes back if the family stops at this stage (everything prepaid)."""

    code: str
    label: Message
    kept_lines: tuple[str, ...]
    kept_jpy: int
    fee_jpy: int
    refundable_jpy: int

    def as_dict(self, *, language: str | None = None) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label.render(language=language),
            "kept_lines": list(self.kept_lines),
            "kept_jpy": self.kept_jpy,
            "fee_jpy": self.fee_jpy,
            "refundable_jpy": self.refundable_jpy,
        }


def _stage_codes(infusions: int) -> list[str]:
    return ["before_tests", "after_tests", "after_culture_ordered"] + [
        f"after_infusion_{n}" for n in range(1, infusions + 1)
    ]


def _consumed_stage(line: QuoteLine, policy: RefundPolicy) -> str | None:
    if line.category == "infusion":
        return f"after_infusion_{line.sequence}"
    if line.consumed_at is not None:
        return line.consumed_at
    return policy.consumed_at.get(line.category)


def refund_schedule(*, quote: QuoteCalc, policy: RefundPolicy | None = None) -> list[RefundStage]:
    """Refundable amount at each stage: before tests, after tests, after culture, after each infusion.

    The kept amount includes the tax on the kept lines, worked out with the quote's own rounding,
    so the refund at the first stage with nothing kept equals the total exactly.
    """
    policy = policy or RefundPolicy()
    codes = _stage_codes(quote.infusions)
    rank = {code: i for i, code in enumerate(codes)}
    payable = list(quote.lines)
    if quote.commission_line.included_in_total:
        payable.append(quote.commission_line)
    for stage in [*policy.consumed_at.values(), *(_consumed_stage(ln, policy) for ln in payable)]:
        if stage is not None and stage not in rank:
            raise _money_error(
                "policy", gettext_noop("Unknown refund stage %(stage)s."), stage=stage
            )
    out: list[RefundStage] = []
    for code in codes:
        kept = [
            ln
            for ln in payable
            if (stage := _consumed_stage(ln, policy)) is not None and rank[stage] <= rank[code]
        ]
        net = sum(ln.amount_jpy for ln in kept)
        taxable = sum(ln.amount_jpy for ln in kept if ln.taxable)
        kept_jpy = (
            net if quote.tax_rule.prices_include_tax else net + _tax_on(taxable, quote.tax_rule)
        )
        fee = _yen(policy.cancellation_fee_jpy.get(code, 0), "cancellation_fee_jpy")
        refundable = max(0, quote.total_jpy - kept_jpy - fee)
        if code.startswith("after_infusion_"):
            n = int(code.rsplit("_", 1)[1])
            label = Message(
                code, STAGE_LABELS["after_infusion"], {"n": n, "total": quote.infusions}
            )
        else:
            label = Message(code, STAGE_LABELS[code], {})
        out.append(
            RefundStage(code, label, tuple(ln.code for ln in kept), kept_jpy, fee, refundable)
        )
    return out


def quote_summary_lines(*, quote: QuoteCalc, language: str | None = None) -> Sequence[str]:
    """Plain-text quote lines for a printable summary (PDF rendering lives elsewhere)."""
    rows = [f"{ln.label.render(language=language)}: ¥{ln.amount_jpy:,}" for ln in quote.lines]
    c = quote.commission_line
    rows.append(f"{c.label.render(language=language)}: ¥{c.amount_jpy:,}")
    return rows
