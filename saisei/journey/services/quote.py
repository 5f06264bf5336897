"""Quotes: itemised drafts, issue with frozen disclosures, acceptance by the family."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import Organisation, User

from .. import permissions as perms
from .. import pricing as calc
from .. import rules
from ..lifecycles import INQUIRY, QUOTE, follow
from ..models import (
    Inquiry,
    Patient,
    PortalAccess,
    PriceList,
    Quote,
    QuoteLine,
)
from ._common import Conflict, Forbidden, ValidationFailed, require, stored_message
from .plan import plan_version_in_force
from .price_list import PRICE_KINDS


def _today() -> dt.date:
    return timezone.localdate()


def _require_plan_in_force(plan: Any, day: dt.date) -> Any:
    version = plan_version_in_force(plan=plan, day=day)
    if version is None:
        raise Conflict(
            "plan_not_in_force",
            _(
                "The provision plan %(plan)s is not in force on %(day)s, so no quote can be issued "
                "or accepted for it."
            )
            % {"plan": plan.plan_number or plan.title, "day": day.isoformat()},
            {"plan": [_("The plan is not in force.")]},
        )
    return version


def _pure_price_list(pl: PriceList) -> calc.PriceList:
    prices = {i.kind: i.unit_price_jpy for i in pl.items.all()}
    return calc.PriceList(**{k: prices.get(k, 0) for k in PRICE_KINDS})  # type: ignore[arg-type]


def quote_create(
    *,
    actor: User,
    patient: Patient,
    plan: Any,
    price_list: PriceList,
    infusions: int,
    follow_ups: int = 0,
    assessments: int = 0,
    interpreter_days: int = 0,
    commission: Decimal | int = 0,
    commission_payer: str = "clinic",
    facilitator: Organisation | None = None,
    currency: str | None = None,
    fx_jpy_per_unit: Decimal | None = None,
    fx_date: dt.date | None = None,
    fx_source: str = "",
    language: str | None = None,
    valid_until: dt.date | None = None,
    revises: Quote | None = None,
) -> Quote:
    """Build a draft quote (or a new version of one) with every line itemised and totalled."""
    require(perms.can_manage_quote, actor, patient)
    today = _today()
    _check_quote_inputs(
        patient=patient,
        plan=plan,
        price_list=price_list,
        commission_payer=commission_payer,
        today=today,
    )
    currency = (currency or patient.currency or "USD").upper()
    fx = _fx_rate(currency, fx_jpy_per_unit, fx_date, fx_source)
    result = calc.build_quote_lines(
        price_list=_pure_price_list(price_list),
        infusions=infusions,
        follow_ups=follow_ups,
        interpreter_days=interpreter_days,
        commission_rate_or_amount=commission,
        commission_payer=commission_payer,  # type: ignore[arg-type]
        assessments=assessments,
        tax_rule=calc.TaxRule(
            rate=price_list.tax_rate, prices_include_tax=price_list.prices_include_tax
        ),
        fx=fx,
    )
    policy = calc.RefundPolicy(**price_list.refund_rules) if price_list.refund_rules else None
    schedule = calc.refund_schedule(quote=result, policy=policy)
    with transaction.atomic():
        number, version = _quote_number(patient=patient, revises=revises, today=today)
        quote = Quote.objects.create(
            organisation=patient.organisation,
            number=number,
            version=version,
            patient=patient,
            plan=plan,
            price_list=price_list,
            facilitator=facilitator,
            language=language or patient.language,
            infusions=infusions,
            valid_until=valid_until or _default_validity(price_list, today),
            subtotal_jpy=result.subtotal,
            tax_jpy=result.tax,
            total_jpy=result.total_jpy,
            commission_payer=commission_payer,
            currency=currency,
            **_fx_fields(fx),
            converted_amount=result.converted.amount if result.converted else None,
            refund_schedule=_stored_schedule(schedule),
        )
        _quote_lines_create(quote, [*result.lines, result.commission_line])
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="quote.create",
            subject=quote,
            changes={"number": number, "version": version, "total_jpy": result.total_jpy},
        )
    return quote


def _check_quote_inputs(
    *, patient: Patient, plan: Any, price_list: PriceList, commission_payer: str, today: dt.date
) -> None:
    """Refuse a plan or price list of another organisation or institution, a price list not
    valid today and an unknown commission payer."""
    if (
        plan.organisation_id != patient.organisation_id
        or price_list.organisation_id != patient.organisation_id
    ):
        raise ValidationFailed("plan_not_found", _("Unknown plan or price list."))
    if price_list.institution_id != plan.institution_id:
        raise ValidationFailed(
            "price_list_other_institution",
            _("The price list belongs to another institution than the plan."),
            {"price_list": [_("Another institution.")]},
        )
    if not (price_list.valid_from <= today <= price_list.valid_until):
        raise ValidationFailed(
            "price_list_not_valid",
            _("The price list is not valid today."),
            {"price_list": [_("Not valid today.")]},
        )
    if commission_payer not in ("clinic", "patient"):
        raise ValidationFailed("invalid_commission_payer", _("Who pays the commission?"))


def _fx_rate(
    currency: str, fx_jpy_per_unit: Decimal | None, fx_date: dt.date | None, fx_source: str
) -> calc.FxRate | None:
    """The exchange rate the quote converts at, dated; none when no rate is given."""
    if fx_jpy_per_unit is None:
        return None
    if fx_date is None:
        raise ValidationFailed(
            "fx_date_required",
            _("Give the date of the exchange rate."),
            {"fx_date": [_("Required with a rate.")]},
        )
    return calc.FxRate(currency, Decimal(fx_jpy_per_unit), fx_date, fx_source or "—")


def _default_validity(price_list: PriceList, today: dt.date) -> dt.date:
    """A quote is valid for the default number of days, never beyond its price list."""
    return min(price_list.valid_until, today + dt.timedelta(days=rules.QUOTE_VALIDITY_DAYS_DEFAULT))


def _fx_fields(fx: calc.FxRate | None) -> dict[str, Any]:
    """The quote's exchange-rate fields: the rate, its date and its source, or none."""
    return {
        "fx_rate": fx.jpy_per_unit if fx else None,
        "fx_rate_date": fx.as_of if fx else None,
        "fx_source": fx.source if fx else "",
    }


def _quote_number(*, patient: Patient, revises: Quote | None, today: dt.date) -> tuple[str, int]:
    """A new quote's number (Q<year>-NNNN, version 1), or the next version of a revised one."""
    if revises is not None:
        if revises.patient_id != patient.pk:
            raise ValidationFailed("quote_other_patient", _("That quote is for another patient."))
        number = revises.number
        version = (
            Quote.objects.filter(organisation=patient.organisation, number=number).aggregate(
                m=Max("version")
            )["m"]
            + 1
        )
    else:
        count = Quote.objects.filter(
            organisation=patient.organisation, version=1, created_at__year=today.year
        ).count()
        number = f"Q{today.year}-{count + 1:04d}"
        while Quote.objects.filter(organisation=patient.organisation, number=number).exists():
            count += 1
            number = f"Q{today.year}-{count + 1:04d}"
        version = 1
    return number, version


def _stored_schedule(schedule: Any) -> list[dict[str, Any]]:
    """The refund schedule as stored on the quote: each stage's message and amounts."""
    return [
        {
            **stored_message(s.label),
            "stage": s.code,
            "kept_jpy": s.kept_jpy,
            "fee_jpy": s.fee_jpy,
            "refundable_jpy": s.refundable_jpy,
        }
        for s in schedule
    ]


def _quote_lines_create(quote: Quote, lines: list[Any]) -> None:
    """Store the quote's lines in order, each with its message kept for any language."""
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                organisation=quote.organisation,
                quote=quote,
                position=i,
                kind=ln.category,
                code=ln.code,
                description=ln.label.render(language="en")[:300],
                quantity=ln.quantity,
                unit_price_jpy=ln.unit_price_jpy,
                amount_jpy=ln.amount_jpy,
                taxable=ln.taxable,
                included_in_total=ln.included_in_total,
                note=json.dumps(stored_message(ln.label), ensure_ascii=False)[:300],
            )
            for i, ln in enumerate(lines, start=1)
        ]
    )


def quote_issue(*, actor: User, quote: Quote) -> Quote:
    """Issue a draft to the family; refused unless the plan is in force today. The disclosures
    (plan number, risk class, institution, facility, evidence and risks) are frozen at issue."""
    require(perms.can_manage_quote, actor, quote)
    QUOTE.check(quote, "issue", actor=actor)
    today = _today()
    version = _require_plan_in_force(quote.plan, today)
    if quote.valid_until < today:
        raise Conflict("quote_expired", _("The quote's validity date has passed."))
    if not quote.lines.filter(kind="commission").exists():
        raise Conflict("commission_line_missing", _("Every quote shows the commission line."))
    if not quote.refund_schedule:
        raise Conflict("refund_rules_missing", _("Every quote states the refund rules."))
    plan = quote.plan
    institution = plan.institution
    facilities = list(version.facilities.all())
    committee = version.committee
    disclosures = {
        "plan_number": plan.plan_number,
        "plan_title": plan.title,
        "risk_class": plan.risk_class,
        "plan_version": version.number,
        "institution": institution.name,
        "institution_ja": institution.name_ja,
        "facilities": [
            {"name": f.name, "name_ja": f.name_ja, "number": f.facility_number} for f in facilities
        ],
        "committee": (
            {"name": committee.name, "number": committee.certification_number}
            if committee
            else None
        ),
        "evidence": list(rules.QUOTE_EVIDENCE),
        "risks": list(rules.QUOTE_RISKS),
    }
    with transaction.atomic():
        for old in Quote.objects.filter(
            organisation=quote.organisation, number=quote.number, status=Quote.Status.ISSUED
        ).exclude(pk=quote.pk):
            QUOTE.apply(old, "supersede", actor=actor, changes={"by_version": quote.version})
        QUOTE.apply(
            quote,
            "issue",
            actor=actor,
            updates={
                "plan_version": version,
                "disclosures": disclosures,
                "issued_at": timezone.now(),
                "issued_by": actor,
            },
            changes={
                "number": quote.number,
                "version": quote.version,
                "plan_version": version.number,
                "total_jpy": quote.total_jpy,
            },
            audit_action="quote.issue",
        )
        inquiry: Inquiry | None = quote.patient.inquiry
        if inquiry is not None:
            follow(
                INQUIRY,
                inquiry,
                "quote",
                actor=actor,
                updates={"status_changed_at": timezone.now()},
            )
    return quote


def quote_accept(
    *,
    quote: Quote,
    accepted_by_name: str,
    agree: bool,
    actor: User | None = None,
    portal_access: PortalAccess | None = None,
    client_ip: str | None = None,
) -> Quote:
    """Record the family's acceptance online (through the portal) or taken by staff."""
    if portal_access is not None:
        if portal_access.patient_id != quote.patient_id:
            raise Forbidden()
    elif actor is not None:
        require(perms.can_manage_quote, actor, quote)
    else:
        raise Forbidden()
    if not agree or not accepted_by_name.strip():
        raise ValidationFailed(
            "acceptance_incomplete",
            _("Type your full name and tick the box to accept the quote."),
            {"accepted_by_name": [_("Required.")], "agree": [_("Required.")]},
        )
    QUOTE.check(quote, "accept", actor=actor)
    today = _today()
    if quote.valid_until < today:
        raise Conflict(
            "quote_expired",
            _("This quote expired on %(date)s. Ask your coordinator for a new one.")
            % {"date": quote.valid_until.isoformat()},
        )
    _require_plan_in_force(quote.plan, today)
    now = timezone.now()
    via = "portal" if portal_access is not None else "staff"
    return QUOTE.apply(
        quote,
        "accept",
        actor=actor,
        updates={
            "accepted_at": now,
            "accepted_by_name": accepted_by_name.strip(),
            "acceptance_evidence": {
                "via": via,
                "portal_access": str(portal_access.external_id) if portal_access else None,
                "staff_user": actor.username if actor else None,
                "ip": client_ip,
                "total_jpy": quote.total_jpy,
                "version": quote.version,
                "at": now.isoformat(),
            },
        },
        changes={"by": accepted_by_name.strip(), "via": via},
        audit_action="quote.accept",
    )
