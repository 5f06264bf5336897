"""Care services: pre-screening, prices and quotes, consent, treatment courses and itineraries."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import Organisation, User
from saisei.core.services import signature_verify
from saisei.core.timezones import TOKYO

from .. import permissions as perms
from .. import pricing as calc
from .. import rules
from ..models import (
    Consent,
    ConsentDocument,
    CourseStep,
    Inquiry,
    Itinerary,
    LegalProxy,
    Patient,
    PortalAccess,
    Prescreen,
    PriceItem,
    PriceList,
    Quote,
    QuoteLine,
    TreatmentCourse,
    TreatmentPackage,
)
from ..prescreen import Criteria, PrescreenAnswers, prescreen
from ._common import Conflict, Forbidden, ValidationFailed, require


def _today() -> dt.date:
    return timezone.localdate()


# --- plan status ----------------------------------------------------------------------------


def plan_version_in_force(*, plan: Any, day: dt.date) -> Any | None:
    """The plan version in force on `day`, or None: the plan must be accepted and in force
    (ASRM Art. 4(1), 5; a Class I plan also waits 90 days, which the regulatory layer sets
    through `in_force_from`)."""
    from saisei.regulatory.models import PlanState

    if plan.status != PlanState.IN_FORCE:
        return None
    for v in plan.versions.filter(voided_at__isnull=True).order_by("-number"):
        if (
            v.state == PlanState.IN_FORCE
            and v.in_force_from is not None
            and v.in_force_from <= day
            and (v.in_force_until is None or day <= v.in_force_until)
        ):
            return v
    return None


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


# --- stored messages --------------------------------------------------------------------------


def stored_message(message: Any, *, severity: str = "") -> dict[str, Any]:
    """Keep an explanation as msgid + parameters so it renders in any language later."""
    params = message.as_dict(language="en").get("params", {})
    out = {"code": message.code, "msgid": message.msgid, "params": params}
    if getattr(message, "date", None):
        out["date"] = message.date.isoformat()
    if severity:
        out["severity"] = severity
    return out


# --- pre-screening --------------------------------------------------------------------------


def package_create(
    *,
    actor: User,
    plan: Any,
    code: str,
    name: str,
    infusions: int,
    interval_days: int,
    culture_days: int,
    dose_cells: int,
    route: str = "iv",
    follow_up_months: list[int] | None = None,
    prescreen_criteria: dict[str, Any] | None = None,
) -> TreatmentPackage:
    """Define the treatment package a plan offers; doses and routes must be within the plan."""
    require(perms.can_manage_prices, actor, plan)
    version = plan.versions.order_by("-number").first()
    if version is not None:
        if version.routes and route not in version.routes:
            raise ValidationFailed(
                "route_not_in_plan",
                _("The plan does not allow the route %(route)s.") % {"route": route},
                {"route": [_("Not in the plan.")]},
            )
        lo, hi = version.dose_min_cells, version.dose_max_cells
        if (lo and dose_cells < lo) or (hi and dose_cells > hi):
            raise ValidationFailed(
                "dose_not_in_plan",
                _("The dose is outside the range the plan allows."),
                {"dose_cells": [_("Outside the plan's range.")]},
            )
        if version.max_administrations and infusions > version.max_administrations:
            raise ValidationFailed(
                "too_many_infusions",
                _("The plan allows at most %(n)s administrations.")
                % {"n": version.max_administrations},
                {"infusions": [_("Too many.")]},
            )
    criteria = Criteria.from_dict(prescreen_criteria or {}).to_dict()
    with transaction.atomic():
        pkg = TreatmentPackage.objects.create(
            organisation=plan.organisation,
            plan=plan,
            code=code,
            name=name,
            infusions=infusions,
            interval_days=interval_days,
            culture_days=culture_days,
            dose_cells=dose_cells,
            route=route,
            follow_up_months=list(follow_up_months or [3, 6, 12]),
            prescreen_criteria=criteria,
        )
        audit_record(
            actor=actor,
            organisation=plan.organisation,
            action="treatment_package.create",
            subject=pkg,
            changes={"code": code, "infusions": infusions, "interval_days": interval_days},
        )
    return pkg


def _package_for(plan: Any) -> TreatmentPackage | None:
    return (
        TreatmentPackage.objects.filter(plan=plan, is_active=True, voided_at__isnull=True)
        .order_by("code")
        .first()
    )


def prescreen_record(
    *, actor: User, patient: Patient, plan: Any, answers: dict[str, Any]
) -> Prescreen:
    """Sort the application by the plan's criteria; the result is a suggestion with reasons."""
    require(perms.can_record_prescreen, actor, patient)
    if plan.organisation_id != patient.organisation_id:
        raise ValidationFailed("plan_not_found", _("Unknown plan."))
    package = _package_for(plan)
    criteria = Criteria.from_dict(package.prescreen_criteria if package else {})
    try:
        parsed = PrescreenAnswers.from_dict(answers)
    except TypeError as exc:
        raise ValidationFailed(
            "invalid_answers", _("Some pre-screening answers are not recognised.")
        ) from exc
    result = prescreen(criteria=criteria, answers=parsed)
    with transaction.atomic():
        ps = Prescreen.objects.create(
            organisation=patient.organisation,
            patient=patient,
            plan=plan,
            answers=answers,
            criteria_version=criteria.plan_code or (package.code if package else "default"),
            staging_scheme=result.stage.scheme_name if result.stage else "",
            stage=result.stage.stage if result.stage else "",
            outcome=result.outcome,
            reasons=[stored_message(r.message, severity=r.severity) for r in result.reasons],
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="prescreen.record",
            subject=ps,
            changes={"outcome": result.outcome, "stage": ps.stage, "scheme": ps.staging_scheme},
        )
    return ps


def prescreen_decide(
    *,
    actor: User,
    prescreen_obj: Prescreen,
    decision: str,
    note: str,
    password: str,
    otp: str | None = None,
) -> Prescreen:
    """The physician decides eligibility and signs electronically (re-authenticated)."""
    require(perms.can_decide_prescreen, actor, prescreen_obj)
    if prescreen_obj.decision:
        raise Conflict("prescreen_already_decided", _("This pre-screening is already decided."))
    if decision not in ("eligible", "not_eligible"):
        raise ValidationFailed(
            "invalid_decision", _("Choose eligible or not eligible."), {"decision": [decision]}
        )
    if decision == "eligible" and prescreen_obj.outcome == "not_eligible" and not note.strip():
        raise ValidationFailed(
            "override_reason_required",
            _("Explain why the patient is eligible although a criterion excludes them."),
            {"note": [_("A reason is required.")]},
        )
    meaning = "I have reviewed the pre-screening and decide the patient is " + (
        "eligible" if decision == "eligible" else "not eligible"
    )
    sig = signature_verify(actor=actor, password=password, meaning=meaning, otp=otp)
    with transaction.atomic():
        prescreen_obj.decision = decision
        prescreen_obj.decision_note = note
        prescreen_obj.decided_by = actor
        prescreen_obj.decided_at = sig.signed_at
        prescreen_obj.signature = sig.as_dict()
        prescreen_obj.save()
        audit_record(
            actor=actor,
            organisation=prescreen_obj.organisation,
            action="prescreen.decide",
            subject=prescreen_obj,
            changes={"decision": decision, "suggested": prescreen_obj.outcome, "note": note},
        )
    return prescreen_obj


# --- prices and quotes ----------------------------------------------------------------------

PRICE_KINDS = (
    "consultation",
    "tests",
    "harvest",
    "culture_processing",
    "infusion",
    "follow_up",
    "assessment",
    "interpreter_per_day",
    "guarantor_fee",
)


def price_list_create(
    *,
    actor: User,
    institution: Any,
    name: str,
    valid_from: dt.date,
    valid_until: dt.date,
    prices: dict[str, int],
    tax_rate: Decimal = Decimal("0.10"),
    prices_include_tax: bool = False,
) -> PriceList:
    """A price list in JPY for one institution, valid between two dates."""
    require(perms.can_manage_prices, actor, institution)
    if valid_until < valid_from:
        raise ValidationFailed(
            "invalid_validity",
            _("The end of validity is before its start."),
            {"valid_until": [_("Before the start.")]},
        )
    missing = [
        k
        for k in ("consultation", "tests", "harvest", "culture_processing", "infusion")
        if k not in prices
    ]
    bad = [k for k, v in prices.items() if k not in PRICE_KINDS or not isinstance(v, int) or v < 0]
    if missing or bad:
        raise ValidationFailed(
            "invalid_prices",
            _("Each price must be a whole number of yen for a known item."),
            {k: [_("Required.")] for k in missing} | {k: [_("Invalid.")] for k in bad},
        )
    with transaction.atomic():
        pl = PriceList.objects.create(
            organisation=institution.organisation,
            institution=institution,
            name=name,
            valid_from=valid_from,
            valid_until=valid_until,
            tax_rate=tax_rate,
            prices_include_tax=prices_include_tax,
        )
        PriceItem.objects.bulk_create(
            [
                PriceItem(
                    organisation=institution.organisation,
                    price_list=pl,
                    kind=k,
                    label=k,
                    unit_price_jpy=v,
                )
                for k, v in prices.items()
            ]
        )
        audit_record(
            actor=actor,
            organisation=institution.organisation,
            action="price_list.create",
            subject=pl,
            changes={"name": name, "prices": prices, "valid_until": valid_until},
        )
    return pl


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
    today = _today()
    if not (price_list.valid_from <= today <= price_list.valid_until):
        raise ValidationFailed(
            "price_list_not_valid",
            _("The price list is not valid today."),
            {"price_list": [_("Not valid today.")]},
        )
    if commission_payer not in ("clinic", "patient"):
        raise ValidationFailed("invalid_commission_payer", _("Who pays the commission?"))
    currency = (currency or patient.currency or "USD").upper()
    fx = None
    if fx_jpy_per_unit is not None:
        if fx_date is None:
            raise ValidationFailed(
                "fx_date_required",
                _("Give the date of the exchange rate."),
                {"fx_date": [_("Required with a rate.")]},
            )
        fx = calc.FxRate(currency, Decimal(fx_jpy_per_unit), fx_date, fx_source or "—")
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
        if revises is not None:
            if revises.patient_id != patient.pk:
                raise ValidationFailed(
                    "quote_other_patient", _("That quote is for another patient.")
                )
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
            valid_until=valid_until
            or min(
                price_list.valid_until,
                today + dt.timedelta(days=rules.QUOTE_VALIDITY_DAYS_DEFAULT),
            ),
            subtotal_jpy=result.subtotal,
            tax_jpy=result.tax,
            total_jpy=result.total_jpy,
            commission_payer=commission_payer,
            currency=currency,
            fx_rate=fx.jpy_per_unit if fx else None,
            fx_rate_date=fx.as_of if fx else None,
            fx_source=fx.source if fx else "",
            converted_amount=result.converted.amount if result.converted else None,
            refund_schedule=[
                {
                    **stored_message(s.label),
                    "stage": s.code,
                    "kept_jpy": s.kept_jpy,
                    "fee_jpy": s.fee_jpy,
                    "refundable_jpy": s.refundable_jpy,
                }
                for s in schedule
            ],
        )
        lines = [*result.lines, result.commission_line]
        QuoteLine.objects.bulk_create(
            [
                QuoteLine(
                    organisation=patient.organisation,
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
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="quote.create",
            subject=quote,
            changes={"number": number, "version": version, "total_jpy": result.total_jpy},
        )
    return quote


def quote_issue(*, actor: User, quote: Quote) -> Quote:
    """Issue a draft to the family; refused unless the plan is in force today. The disclosures
    (plan number, risk class, institution, facility, evidence and risks) are frozen at issue."""
    require(perms.can_manage_quote, actor, quote)
    if quote.status != Quote.Status.DRAFT:
        raise Conflict("quote_not_draft", _("Only a draft quote can be issued."))
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
            old.status = Quote.Status.SUPERSEDED
            old.save(update_fields=["status", "updated_at"])
        quote.plan_version = version
        quote.disclosures = disclosures
        quote.status = Quote.Status.ISSUED
        quote.issued_at = timezone.now()
        quote.issued_by = actor
        quote.save()
        inquiry: Inquiry | None = quote.patient.inquiry
        if inquiry is not None and inquiry.status == Inquiry.Status.PRESCREENING:
            inquiry.status = Inquiry.Status.QUOTED
            inquiry.status_changed_at = timezone.now()
            inquiry.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_record(
            actor=actor,
            organisation=quote.organisation,
            action="quote.issue",
            subject=quote,
            changes={
                "number": quote.number,
                "version": quote.version,
                "plan_version": version.number,
                "total_jpy": quote.total_jpy,
            },
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
    if quote.status != Quote.Status.ISSUED:
        raise Conflict(
            "quote_not_open",
            _("This quote can no longer be accepted (it is %(status)s).")
            % {"status": quote.get_status_display()},
        )
    today = _today()
    if quote.valid_until < today:
        raise Conflict(
            "quote_expired",
            _("This quote expired on %(date)s. Ask your coordinator for a new one.")
            % {"date": quote.valid_until.isoformat()},
        )
    _require_plan_in_force(quote.plan, today)
    now = timezone.now()
    with transaction.atomic():
        quote.status = Quote.Status.ACCEPTED
        quote.accepted_at = now
        quote.accepted_by_name = accepted_by_name.strip()
        quote.acceptance_evidence = {
            "via": "portal" if portal_access is not None else "staff",
            "portal_access": str(portal_access.external_id) if portal_access else None,
            "staff_user": actor.username if actor else None,
            "ip": client_ip,
            "total_jpy": quote.total_jpy,
            "version": quote.version,
            "at": now.isoformat(),
        }
        quote.save()
        audit_record(
            actor=actor,
            organisation=quote.organisation,
            action="quote.accept",
            subject=quote,
            changes={"by": quote.accepted_by_name, "via": quote.acceptance_evidence["via"]},
        )
    return quote


# --- consent --------------------------------------------------------------------------------


def consent_document_create(
    *,
    actor: User,
    plan_version: Any,
    language: str,
    version: str,
    title: str,
    body: str,
    effective_from: dt.date,
) -> ConsentDocument:
    """Add the explanation-and-consent text for one plan version and language (ASRM Art. 14)."""
    require(perms.can_manage_course, actor, plan_version)
    if not body.strip():
        raise ValidationFailed("body_required", _("The document text is required."))
    with transaction.atomic():
        ConsentDocument.objects.filter(
            plan_version=plan_version, language=language, is_current=True
        ).update(is_current=False)
        doc = ConsentDocument.objects.create(
            organisation=plan_version.organisation,
            plan_version=plan_version,
            language=language,
            version=version,
            title=title,
            body=body,
            effective_from=effective_from,
        )
        audit_record(
            actor=actor,
            organisation=plan_version.organisation,
            action="consent_document.create",
            subject=doc,
            changes={"language": language, "version": version},
        )
    return doc


def consent_give(
    *,
    actor: User,
    patient: Patient,
    document: ConsentDocument,
    given_by: str,
    signer_name: str,
    signer_confirms: bool,
    password: str,
    otp: str | None = None,
    proxy: LegalProxy | None = None,
    paper_signed_at: dt.datetime | None = None,
) -> Consent:
    """Record written consent: the physician who explained re-authenticates and signs; the
    patient or legal proxy types their name and confirms (ASRM Art. 14)."""
    require(perms.can_take_consent, actor, patient)
    if document.organisation_id != patient.organisation_id or document.voided_at:
        raise ValidationFailed("document_not_found", _("Unknown consent document."))
    if not document.is_current:
        raise Conflict("document_not_current", _("This version of the document has been replaced."))
    if given_by not in Consent.GivenBy.values:
        raise ValidationFailed(
            "invalid_given_by", _("Who gives consent?"), {"given_by": [given_by]}
        )
    if given_by == Consent.GivenBy.PROXY and (
        proxy is None or proxy.patient_id != patient.pk or proxy.voided_at
    ):
        raise ValidationFailed(
            "proxy_required",
            _("Choose the legal proxy who gives consent."),
            {"proxy": [_("Required.")]},
        )
    if not signer_confirms or not signer_name.strip():
        raise ValidationFailed(
            "signer_confirmation_required",
            _("The person consenting must type their name and confirm."),
            {"signer_name": [_("Required.")], "signer_confirms": [_("Required.")]},
        )
    from ..selectors import consent_status_for_gate

    now = timezone.now()
    if paper_signed_at is not None and paper_signed_at > now:
        raise ValidationFailed(
            "signed_in_future",
            _("A paper consent cannot be dated in the future."),
            {"paper_signed_at": [_("In the future.")]},
        )
    if (
        consent_status_for_gate(
            patient_id=patient.pk, plan_version_id=document.plan_version_id, at=now
        )
        == "valid"
    ):
        raise Conflict("consent_already_valid", _("The patient already has a valid consent."))
    sig = signature_verify(
        actor=actor,
        password=password,
        meaning="I explained the treatment and witnessed the consent given",
        otp=otp,
    )
    digest = hashlib.sha256(f"{document.title}\n{document.body}".encode()).hexdigest()
    with transaction.atomic():
        consent = Consent.objects.create(
            organisation=patient.organisation,
            patient=patient,
            document=document,
            plan_version_id=document.plan_version_id,
            given_by=given_by,
            proxy=proxy if given_by == Consent.GivenBy.PROXY else None,
            signer_name=signer_name.strip(),
            signed_at=paper_signed_at or sig.signed_at,
            explained_by=actor,
            signature_evidence={
                "physician_signature": sig.as_dict(),
                "document_sha256": digest,
                "document_version": document.version,
                "document_language": document.language,
                "signer_typed_name": signer_name.strip(),
                "signer_confirmed": True,
                "method": (
                    "paper form signed on the stated date, recorded and countersigned later"
                    if paper_signed_at
                    else "typed name, witnessed by the explaining physician"
                ),
                "recorded_at": now.isoformat(),
            },
        )
        if patient.status == Patient.Status.PROSPECTIVE:
            patient.status = Patient.Status.ENROLLED
            patient.save(update_fields=["status", "updated_at"])
        inquiry = patient.inquiry
        if inquiry is not None and inquiry.status in ("prescreening", "quoted"):
            inquiry.status = Inquiry.Status.ENROLLED
            inquiry.status_changed_at = now
            inquiry.save(update_fields=["status", "status_changed_at", "updated_at"])
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="consent.give",
            subject=consent,
            changes={
                "patient": patient.patient_code,
                "given_by": given_by,
                "document": f"{document.version}/{document.language}",
                "sha256": digest,
            },
        )
    return consent


def consent_withdraw(
    *, actor: User, consent: Consent, reason: str, at: dt.datetime | None = None
) -> Consent:
    """Withdraw consent: further steps stop at once; every record made so far is kept."""
    require(perms.can_record_withdrawal, actor, consent)
    if consent.withdrawn_at is not None:
        raise Conflict("consent_already_withdrawn", _("This consent is already withdrawn."))
    if not reason.strip():
        raise ValidationFailed(
            "reason_required", _("Record the reason given."), {"reason": [_("Required.")]}
        )
    at = at or timezone.now()
    with transaction.atomic():
        consent.withdrawn_at = at
        consent.withdrawal_reason = reason.strip()
        consent.withdrawal_recorded_by = actor
        consent.save()
        stopped = []
        for course in TreatmentCourse.objects.filter(
            patient=consent.patient,
            plan=consent.plan_version.plan,
            status__in=["planned", "scheduled", "in_progress"],
        ):
            course.status = TreatmentCourse.Status.STOPPED
            course.stopped_at = at
            course.stop_reason = f"consent withdrawn: {reason.strip()}"
            course.save()
            for step in course.steps.filter(status__in=["planned", "scheduled", "blocked"]):
                step.status = CourseStep.Status.CANCELLED
                step.save(update_fields=["status", "updated_at"])
            stopped.append(str(course.external_id))
        audit_record(
            actor=actor,
            organisation=consent.organisation,
            action="consent.withdraw",
            subject=consent,
            changes={"courses_stopped": stopped},
            reason=reason.strip(),
        )
    return consent


# --- treatment course -----------------------------------------------------------------------


def course_instantiate(
    *,
    actor: User,
    patient: Patient,
    package: TreatmentPackage,
    harvest_date: dt.date,
    physician: Any = None,
    facility: Any = None,
    visit_dates: dict[tuple[str, int], dt.date] | None = None,
) -> TreatmentCourse:
    """Create a course from the plan's package: consultation, harvest, culture, N infusions at the
    interval and follow-up assessments. Dates come from the itinerary when one is given.

    ``physician`` performs the harvest and infusions and ``facility`` processes the cells; the
    gate checks both against the plan when the course is scheduled."""
    require(perms.can_manage_course, actor, patient)
    if package.organisation_id != patient.organisation_id:
        raise ValidationFailed("package_not_found", _("Unknown package."))
    for name, obj in (("physician", physician), ("facility", facility)):
        if obj is not None and obj.organisation_id != patient.organisation_id:
            raise ValidationFailed(
                f"{name}_not_found", _("Unknown %(what)s.") % {"what": name}, {name: ["?"]}
            )
    decided = (
        Prescreen.objects.filter(patient=patient, plan=package.plan, voided_at__isnull=True)
        .exclude(decision="")
        .order_by("-decided_at")
        .first()
    )
    if decided is None or decided.decision != "eligible":
        raise Conflict(
            "not_prescreened_eligible",
            _("A physician must first decide and sign that the patient is eligible."),
        )
    if TreatmentCourse.objects.filter(
        patient=patient, plan=package.plan, status__in=["planned", "scheduled", "in_progress"]
    ).exists():
        raise Conflict("course_exists", _("The patient already has an open course on this plan."))
    dates = dict(visit_dates or {})
    release = dates.get(("culture", 1), harvest_date + dt.timedelta(days=package.culture_days))
    first_infusion = dates.get(("infusion", 1), release + dt.timedelta(days=1))
    steps: list[tuple[str, int, dt.date, str, int | None]] = [
        (
            "consultation",
            1,
            dates.get(("consultation", 1), harvest_date - dt.timedelta(days=1)),
            "",
            None,
        ),
        ("harvest", 1, dates.get(("harvest", 1), harvest_date), "", None),
        ("culture", 1, release, "", None),
    ]
    for n in range(1, package.infusions + 1):
        default = first_infusion + dt.timedelta(days=package.interval_days * (n - 1))
        steps.append(
            ("infusion", n, dates.get(("infusion", n), default), package.route, package.dose_cells)
        )
    last = steps[-1][2]
    for n, months in enumerate(package.follow_up_months or [], start=1):
        steps.append(("assessment", n, last + dt.timedelta(days=round(30.44 * months)), "", None))
    with transaction.atomic():
        course = TreatmentCourse.objects.create(
            organisation=patient.organisation,
            patient=patient,
            plan=package.plan,
            physician=physician,
            facility=facility,
            package={
                "code": package.code,
                "name": package.name,
                "infusions": package.infusions,
                "interval_days": package.interval_days,
                "culture_days": package.culture_days,
                "route": package.route,
                "dose_cells": package.dose_cells,
                "follow_up_months": package.follow_up_months,
            },
        )
        CourseStep.objects.bulk_create(
            [
                CourseStep(
                    organisation=patient.organisation,
                    course=course,
                    kind=kind,
                    number=n,
                    planned_date=day,
                    route=route,
                    planned_dose_cells=dose,
                )
                for kind, n, day, route, dose in steps
            ]
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="course.instantiate",
            subject=course,
            changes={"package": package.code, "harvest": harvest_date, "steps": len(steps)},
        )
    return course


GATED_KINDS = {"harvest": "harvest", "infusion": "administration"}


def step_gate_check(
    *, actor: User, step: CourseStep, at: dt.datetime | None = None
) -> dict[str, Any]:
    """Ask the compliance gate whether this planned harvest or infusion may happen (DESIGN
    invariant 1), with the facts the course records: its performing physician, its processing
    facility, the step's planned route and dose, and the patient's coded diagnosis. The cells
    a course harvests are the patient's own, given back to the patient, so its cell source is
    autologous. A fact the course does not hold is left out, and the gate refuses."""
    from saisei.regulatory.services import gate_check

    course = step.course
    day = step.planned_date or timezone.localdate()
    when = at or dt.datetime.combine(day, dt.time(10, 0), tzinfo=TOKYO)
    act = GATED_KINDS[step.kind]
    physician = course.physician
    result = gate_check(
        actor=actor,
        act=act,
        # The act takes place where the performing physician practises (their registry entry);
        # the plan's own institution is what that place is checked against.
        institution=physician.institution if physician is not None else None,
        physician=physician,
        patient=course.patient,
        plan=course.plan,
        route=step.route or None,
        dose_cells=step.planned_dose_cells,
        administration_number=step.number if step.kind == "infusion" else None,
        at=when,
        cell_source="autologous" if course.steps.filter(kind="harvest").exists() else None,
        facility=course.facility,
    )
    data = result.as_dict()
    data["act_date"] = str(data.get("act_date"))
    if at is None and step.kind == "infusion":
        # Scheduled ahead, infusion n cannot yet follow n-1 recorded administrations; the
        # sequence is checked again when the infusion happens (treatment app).
        data["findings"] = [
            f for f in data["findings"] if f["rule"] != "GATE-ADMINISTRATION-SEQUENCE"
        ]
        data["allowed"] = not any(f["severity"] == "block" for f in data["findings"])
    return data


def course_schedule(*, actor: User, course: TreatmentCourse) -> TreatmentCourse:
    """Schedule every planned step; harvest and infusions are checked against the compliance gate
    for their planned date, and a refused step stays blocked with the gate's reasons."""
    require(perms.can_manage_course, actor, course)
    if course.status not in ("planned", "scheduled"):
        raise Conflict("course_not_schedulable", _("This course cannot be scheduled now."))
    from ..selectors import patient_has_withdrawn

    if patient_has_withdrawn(patient_id=course.patient_id):
        raise Conflict("consent_withdrawn", _("Consent was withdrawn; no further steps."))
    now = timezone.now()
    blocked = []
    with transaction.atomic():
        for step in course.steps.filter(status__in=["planned", "blocked"]).order_by("planned_date"):
            if step.kind in GATED_KINDS:
                result = step_gate_check(actor=actor, step=step)
                step.gate_checked_at = now
                step.gate_result = result
                step.status = (
                    CourseStep.Status.SCHEDULED if result["allowed"] else CourseStep.Status.BLOCKED
                )
                if not result["allowed"]:
                    blocked.append(f"{step.kind} {step.number}")
            else:
                step.status = CourseStep.Status.SCHEDULED
            step.save()
        if not blocked:
            course.status = TreatmentCourse.Status.SCHEDULED
            course.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            organisation=course.organisation,
            action="course.schedule",
            subject=course,
            changes={"blocked": blocked},
        )
    return course


RECORDED_BY = {
    "harvest": _("A harvest step is done when the harvest is recorded (with its DIN)."),
    "infusion": _("An infusion step is done when its administration is recorded at the bedside."),
}


def course_step_complete(
    *, actor: User, step: CourseStep, at: dt.datetime | None = None
) -> CourseStep:
    """Record that a consultation, culture or assessment step happened.

    Harvest and infusion steps are the gated acts themselves: they close only when the act is
    recorded (``donation_record`` in processing, ``administration_record`` in treatment), each of
    which passes the compliance gate; this service never marks them done on its own.
    """
    require(perms.can_manage_course, actor, step)
    at = at or timezone.now()
    if step.status not in ("scheduled", "planned"):
        raise Conflict("step_not_open", _("This step is not open."))
    if step.course.status in ("stopped", "completed"):
        raise Conflict("course_closed", _("The course is closed."))
    from ..selectors import patient_has_withdrawn

    if patient_has_withdrawn(patient_id=step.course.patient_id, at=at):
        raise Conflict("consent_withdrawn", _("Consent was withdrawn; no further steps."))
    if step.kind in GATED_KINDS:
        raise Conflict(
            "step_needs_record",
            RECORDED_BY[step.kind],
            {"step": [RECORDED_BY[step.kind]]},
        )
    return _step_mark_done(actor=actor, step=step, at=at)


def _step_mark_done(
    *, actor: User, step: CourseStep, at: dt.datetime, evidence: dict[str, Any] | None = None
) -> CourseStep:
    """Close a step, start the course if it was only scheduled, and record it in the ledger."""
    with transaction.atomic():
        step.status = CourseStep.Status.DONE
        step.done_at = at
        step.save()
        course = step.course
        if course.status == TreatmentCourse.Status.SCHEDULED:
            course.status = TreatmentCourse.Status.IN_PROGRESS
            course.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            organisation=step.organisation,
            action="course_step.complete",
            subject=step,
            changes={"kind": step.kind, "number": step.number, "at": at, **(evidence or {})},
        )
    return step


def course_step_record_administration(
    *, actor: User, step: CourseStep, administration_ref: str, at: dt.datetime
) -> CourseStep:
    """Mark an infusion step done because a scan-verified administration was recorded.

    Called only by treatment's ``administration_record``, which has just passed the compliance
    gate for this act (DESIGN invariant 1) inside the same transaction; the administration's
    reference is the step's evidence.
    """
    if step.kind != CourseStep.Kind.INFUSION:
        raise Conflict("step_not_infusion", _("Only an infusion step takes an administration."))
    if step.status == CourseStep.Status.DONE:
        return step
    return _step_mark_done(
        actor=actor, step=step, at=at, evidence={"administration": administration_ref}
    )


def course_step_record_harvest(
    *, actor: User, course: TreatmentCourse, donation_ref: str, at: dt.datetime
) -> CourseStep | None:
    """Close the course's open harvest step because its harvest was recorded.

    Called only by processing's ``donation_record`` after the compliance gate passed for the
    harvest of this course; a course with no open harvest step (a repeat harvest) has none to
    close.
    """
    step = (
        CourseStep.objects.select_for_update()
        .filter(
            course=course,
            course__status__in=["planned", "scheduled", "in_progress"],
            kind=CourseStep.Kind.HARVEST,
            status__in=["planned", "scheduled", "blocked"],
            voided_at__isnull=True,
        )
        .select_related("course")
        .order_by("planned_date", "pk")
        .first()
    )
    if step is None:
        return None
    return _step_mark_done(actor=actor, step=step, at=at, evidence={"donation": donation_ref})


# --- itinerary ------------------------------------------------------------------------------


def itinerary_save(
    *,
    actor: User,
    patient: Patient,
    request_data: dict[str, Any],
    itinerary: Any,
    previous: Any = None,
    course: TreatmentCourse | None = None,
) -> Itinerary:
    """Store a planned itinerary as the patient's current one, with what changed since the last."""
    require(perms.can_plan_itinerary, actor, patient)
    from ..itinerary import diff_itineraries

    changes = (
        [stored_message(m) for m in diff_itineraries(old=previous, new=itinerary)]
        if previous is not None
        else []
    )
    with transaction.atomic():
        last = Itinerary.objects.filter(patient=patient).aggregate(m=Max("version"))["m"] or 0
        Itinerary.objects.filter(patient=patient, is_current=True).update(is_current=False)
        plan = itinerary.as_dict(language="en")
        plan.pop("explanations", None)
        obj = Itinerary.objects.create(
            organisation=patient.organisation,
            patient=patient,
            course=course,
            version=last + 1,
            request=request_data,
            plan=plan,
            explanations=[stored_message(m) for m in itinerary.explanations],
            changes=changes,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="itinerary.plan",
            subject=obj,
            changes={"version": obj.version, "trips": len(plan["trips"]), "changes": len(changes)},
        )
    return obj


def itinerary_plan(
    *,
    actor: User,
    patient: Patient,
    request_data: dict[str, Any],
    course: TreatmentCourse | None = None,
) -> Itinerary:
    """Plan (or re-plan) the patient's trips; a re-plan records what moved since the current plan."""
    from .. import planning
    from ..selectors import itinerary_current

    require(perms.can_plan_itinerary, actor, patient)
    institution = course.plan.institution if course else None
    req, new = planning.plan(request_data, institution=institution)
    previous = None
    current = itinerary_current(patient=patient)
    if current is not None:
        try:
            previous = planning.plan(current.request, institution=institution)[1]
        except ValidationFailed:
            previous = None
    return itinerary_save(
        actor=actor,
        patient=patient,
        request_data=planning.request_to_data(req),
        itinerary=new,
        previous=previous,
        course=course or (current.course if current else None),
    )


def itinerary_replan(
    *,
    actor: User,
    patient: Patient,
    through: dt.date,
    culture_ready_by: dt.date | None = None,
    culture_days: int | None = None,
) -> Itinerary:
    """Re-plan after a forecast or a visit moves: visits up to `through` stay as they are (done or
    booked), the rest move; the stored itinerary records what changed."""
    from .. import planning
    from ..itinerary import fix_visits_through
    from ..selectors import itinerary_current

    require(perms.can_plan_itinerary, actor, patient)
    current = itinerary_current(patient=patient)
    if current is None:
        raise Conflict("no_itinerary", _("Plan an itinerary first."))
    institution = current.course.plan.institution if current.course else None
    old_req, old = planning.plan(current.request, institution=institution)
    changes: dict[str, Any] = {}
    if culture_ready_by is not None:
        changes["culture_ready_by"] = culture_ready_by
    if culture_days is not None:
        changes["culture_days"] = culture_days
    new_req = fix_visits_through(request=old_req, itinerary=old, through=through, **changes)
    calendar = planning.clinic_calendar(
        institution=institution, start=new_req.earliest_arrival, end=new_req.latest_return
    )
    from ..itinerary import plan_itinerary

    new = plan_itinerary(request=new_req, calendar=calendar)
    return itinerary_save(
        actor=actor,
        patient=patient,
        request_data=planning.request_to_data(new_req),
        itinerary=new,
        previous=old,
        course=current.course,
    )
