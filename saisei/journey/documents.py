"""Documents for families: the quote PDF in their language (Japanese and English at least)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer

from saisei.core.pdf import build_a4_pdf, data_table, escape, paragraph_styles

from .i18n import stored, t
from .models import Quote


def _yen(amount: int) -> str:
    return f"¥{amount:,}"


def _line_label(line: Any, language: str) -> str:
    try:
        return stored(json.loads(line.note), language)
    except (ValueError, TypeError):
        return line.description


def quote_pdf(*, quote: Quote, language: str) -> bytes:
    """Render an issued (or draft) quote: items, totals, refunds, the plan's regulatory identity,
    evidence and risks in plain words (journey facts §4, what a trustworthy offer shows)."""
    st = paragraph_styles(base_size=9.5)
    d = quote.disclosures or {}
    story: list[Any] = [
        *_quote_opening(quote, language, st),
        *_provider_section(quote, d, language, st),
        *_costs_section(quote, language, st),
        *_refunds_section(quote, language, st),
        *_evidence_section(quote, d, language, st),
    ]
    return build_a4_pdf(
        story=story,
        title=f"{quote.number} v{quote.version}",
        header_left=t("Saisei — quote", language),
        header_right=f"{quote.number} v{quote.version}",
        footer_left=d.get("plan_number", ""),
    )


def _story(st: dict[str, Any]) -> tuple[list[Any], Callable[..., None]]:
    """An empty story and ``p(text, style="body")``, which adds an escaped paragraph to it."""
    story: list[Any] = []

    def p(text: str, style: str = "body") -> None:
        story.append(Paragraph(escape(text), st[style]))

    return story, p


def _quote_opening(quote: Quote, language: str, st: dict[str, Any]) -> list[Any]:
    """The title and whom the quote is for, with its status and validity."""
    story, p = _story(st)
    status = {
        "draft": t("Draft — not yet issued", language),
        "issued": t("Issued", language),
        "accepted": t("Accepted", language),
        "superseded": t("Replaced by a newer version", language),
        "withdrawn": t("Withdrawn", language),
    }[quote.status]
    p(
        t(
            "Quote %(number)s, version %(version)s",
            language,
            {"number": quote.number, "version": quote.version},
        ),
        "title",
    )
    patient = quote.patient
    p(
        t(
            "For %(patient)s (%(code)s). Status: %(status)s. Valid until %(date)s.",
            language,
            {
                "patient": patient.display_name,
                "code": patient.patient_code,
                "status": status,
                "date": quote.valid_until.isoformat(),
            },
        )
    )
    return story


def _provider_section(
    quote: Quote, d: dict[str, Any], language: str, st: dict[str, Any]
) -> list[Any]:
    """Who provides the treatment: the plan's regulatory identity."""
    story, p = _story(st)
    story.append(Paragraph(escape(t("Who provides the treatment", language)), st["heading"]))
    institution = (
        d.get("institution_ja")
        if language == "ja" and d.get("institution_ja")
        else d.get("institution", quote.plan.institution.name)
    )
    facilities = (
        ", ".join(
            f"{(f.get('name_ja') if language == 'ja' and f.get('name_ja') else f.get('name'))} ({f.get('number')})"
            for f in d.get("facilities", [])
        )
        or "—"
    )
    committee = d.get("committee") or {}
    rows = [
        [
            t("Provision plan number", language),
            d.get("plan_number") or quote.plan.plan_number or "—",
        ],
        [
            t("Risk class under the Act on the Safety of Regenerative Medicine", language),
            str(d.get("risk_class", quote.plan.risk_class)),
        ],
        [t("Medical institution", language), institution],
        [t("Cell processing facility", language), facilities],
        [
            t("Certified committee that reviewed the plan", language),
            f"{committee.get('name', '—')} ({committee.get('number', '—')})",
        ],
    ]
    story.append(data_table(rows=rows, col_widths=[70 * mm, 104 * mm], header=False))
    story.append(Spacer(1, 2 * mm))
    p(
        t(
            "A provision plan number means the plan was reviewed by a certified committee and filed with the Ministry of Health, Labour and Welfare. It does not mean the treatment works.",
            language,
        ),
        "small",
    )
    return story


def _costs_section(quote: Quote, language: str, st: dict[str, Any]) -> list[Any]:
    """Itemised costs in yen, the totals and the indicative conversion."""
    story, p = _story(st)
    story.append(Paragraph(escape(t("Itemised costs in Japanese yen", language)), st["heading"]))
    rows = [
        [
            t("Item", language),
            t("Quantity", language),
            t("Unit price", language),
            t("Amount", language),
        ]
    ]
    commission = None
    for line in quote.lines.all():
        if line.kind == "commission":
            commission = line
            continue
        rows.append(
            [
                _line_label(line, language),
                str(line.quantity),
                _yen(line.unit_price_jpy),
                _yen(line.amount_jpy),
            ]
        )
    rows.append([t("Subtotal", language), "", "", _yen(quote.subtotal_jpy)])
    if commission is not None:
        rows.append([_line_label(commission, language), "", "", _yen(commission.amount_jpy)])
    rows.append([t("Consumption tax", language), "", "", _yen(quote.tax_jpy)])
    rows.append([t("Total you pay", language), "", "", _yen(quote.total_jpy)])
    story.append(data_table(rows=rows, col_widths=[100 * mm, 18 * mm, 28 * mm, 28 * mm]))
    story.append(Spacer(1, 2 * mm))
    if quote.fx_rate and quote.converted_amount is not None:
        p(
            t(
                "Indicative only: %(amount)s %(currency)s at %(rate)s yen per %(currency)s on %(date)s (%(source)s). You pay in yen; your bank's rate on the day of payment applies.",
                language,
                {
                    "amount": f"{quote.converted_amount:,}",
                    "currency": quote.currency,
                    "rate": str(quote.fx_rate.normalize()),
                    "date": quote.fx_rate_date.isoformat() if quote.fx_rate_date else "—",
                    "source": quote.fx_source or "—",
                },
            ),
            "small",
        )
    return story


def _refunds_section(quote: Quote, language: str, st: dict[str, Any]) -> list[Any]:
    """What is kept and refunded at each stage."""
    story: list[Any] = [
        Paragraph(escape(t("If you stop: what is refunded", language)), st["heading"])
    ]
    rows = [
        [t("When", language), t("Kept by the clinic", language), t("Refunded to you", language)]
    ]
    for stage in quote.refund_schedule:
        rows.append(
            [
                stored(stage, language),
                _yen(stage["kept_jpy"] + stage.get("fee_jpy", 0)),
                _yen(stage["refundable_jpy"]),
            ]
        )
    story.append(data_table(rows=rows, col_widths=[110 * mm, 32 * mm, 32 * mm]))
    return story


def _evidence_section(
    quote: Quote, d: dict[str, Any], language: str, st: dict[str, Any]
) -> list[Any]:
    """The evidence and main risks in plain words, then how to accept (or who accepted)."""
    story, p = _story(st)
    story.append(
        Paragraph(escape(t("What the evidence does and does not show", language)), st["heading"])
    )
    from . import rules

    for msgid in d.get("evidence") or rules.QUOTE_EVIDENCE:
        p("• " + t(msgid, language))
    story.append(Paragraph(escape(t("Main risks", language)), st["heading"]))
    for msgid in d.get("risks") or rules.QUOTE_RISKS:
        p("• " + t(msgid, language))

    story.append(Spacer(1, 4 * mm))
    if quote.status == "accepted" and quote.accepted_at:
        p(
            t(
                "Accepted by %(name)s on %(date)s.",
                language,
                {"name": quote.accepted_by_name, "date": quote.accepted_at.date().isoformat()},
            )
        )
    else:
        p(t("You can accept this quote online in the patient portal.", language), "small")
    return story
