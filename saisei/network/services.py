"""Writes of the facilitator network: agreements, referrals, per-clinic consent, shares, answers.

Each write checks permission and its rule, runs in a transaction and records the audit ledger.
The facilitator's chain records its own acts (agreements, consents, shares, revocations, the
family's choice); the clinic's chain records the clinic's answer (decline, quote).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from saisei.core.models import Organisation, User
from saisei.journey import planning
from saisei.journey import services as journey_services
from saisei.journey.lifecycles import QUOTE

from . import exchange, rules
from . import permissions as perms
from .models import PartnerAgreement, Referral, ReferralConsent, Share

if TYPE_CHECKING:
    from saisei.journey.models import Inquiry, Patient, PortalAccess, TreatmentPackage

CLOSED_NOT_CHOSEN = "The family chose another clinic's quote."


def _today() -> dt.date:
    return timezone.localdate()


def _require(check: Any, actor: Any) -> None:
    if not check(actor):
        raise Forbidden()


# --- agreements -------------------------------------------------------------------------------


def agreement_create(
    *,
    actor: User,
    clinic: Organisation,
    reference: str,
    commission_kind: str,
    commission_payer: str,
    shareable_fields: list[str],
    documents_shareable: bool,
    recipient_measures: str,
    valid_from: dt.date,
    valid_until: dt.date,
    commission_percent: Decimal | None = None,
    commission_fixed_jpy: int | None = None,
) -> PartnerAgreement:
    """Record the written agreement with one partner clinic (a clinic organisation)."""
    _require(perms.can_manage_agreement, actor)
    return _agreement_store(
        actor=actor,
        facilitator=actor.organisation,
        ledger=actor.organisation,
        clinic=clinic,
        reference=reference,
        commission_kind=commission_kind,
        commission_payer=commission_payer,
        shareable_fields=shareable_fields,
        documents_shareable=documents_shareable,
        recipient_measures=recipient_measures,
        valid_from=valid_from,
        valid_until=valid_until,
        commission_percent=commission_percent,
        commission_fixed_jpy=commission_fixed_jpy,
    )


def agreement_record_at_clinic(
    *,
    clinic: Organisation,
    facilitator: Organisation,
    reference: str,
    commission_kind: str,
    commission_payer: str,
    shareable_fields: list[str],
    recipient_measures: str,
    valid_from: dt.date,
    valid_until: dt.date,
    commission_percent: Decimal | None = None,
    commission_fixed_jpy: int | None = None,
) -> PartnerAgreement:
    """The clinic's copy of its agreement with a facilitator on another installation (decision
    0030), recorded by its administrator (``saisei peers agreement``): a referral from that
    facilitator is received only under an agreement in force here."""
    if facilitator.kind != Organisation.Kind.FACILITATOR:
        raise ValidationFailed("partner_not_facilitator", _("Not a facilitator."))
    return _agreement_store(
        actor=None,
        facilitator=facilitator,
        ledger=clinic,
        clinic=clinic,
        reference=reference,
        commission_kind=commission_kind,
        commission_payer=commission_payer,
        shareable_fields=shareable_fields,
        documents_shareable=False,
        recipient_measures=recipient_measures,
        valid_from=valid_from,
        valid_until=valid_until,
        commission_percent=commission_percent,
        commission_fixed_jpy=commission_fixed_jpy,
    )


def _check_agreement_terms(
    *, clinic: Organisation, shareable_fields: list[str], valid_from: dt.date, valid_until: dt.date
) -> None:
    """With a clinic, over known shareable fields, for a period that ends after it starts."""
    if clinic.kind != Organisation.Kind.CLINIC_GROUP:
        raise ValidationFailed(
            "partner_not_clinic",
            _("A partner agreement is made with a clinic."),
            {"clinic": [_("Not a clinic.")]},
        )
    unknown = sorted(set(shareable_fields) - set(rules.SHAREABLE_FIELDS))
    if unknown:
        raise ValidationFailed(
            "unknown_field",
            _("Unknown fields: %(fields)s") % {"fields": ", ".join(unknown)},
            {"shareable_fields": [_("Unknown field.")]},
        )
    if valid_until < valid_from:
        raise ValidationFailed(
            "invalid_period",
            _("The agreement ends before it starts."),
            {"valid_until": [_("Before the start.")]},
        )


def _agreement_commission(
    commission_kind: str, commission_percent: Decimal | None, commission_fixed_jpy: int | None
) -> tuple[Decimal | None, int | None]:
    """The commission as (percent, fixed yen): the one its kind needs, valid; the other None."""
    if commission_kind == "percent":
        if commission_percent is None or not (0 <= commission_percent < 100):
            raise ValidationFailed(
                "invalid_commission",
                _("Give the commission as a percentage from 0 to under 100."),
                {"commission_percent": [_("Required.")]},
            )
        commission_fixed_jpy = None
    elif commission_kind == "fixed":
        if commission_fixed_jpy is None or commission_fixed_jpy < 0:
            raise ValidationFailed(
                "invalid_commission",
                _("Give the fixed commission in yen."),
                {"commission_fixed_jpy": [_("Required.")]},
            )
        commission_percent = None
    else:
        raise ValidationFailed("invalid_commission", _("Percentage or fixed amount?"))
    return commission_percent, commission_fixed_jpy


def _agreement_store(
    *,
    actor: User | None,
    facilitator: Organisation | None,
    ledger: Organisation | None,
    clinic: Organisation,
    reference: str,
    commission_kind: str,
    commission_payer: str,
    shareable_fields: list[str],
    documents_shareable: bool,
    recipient_measures: str,
    valid_from: dt.date,
    valid_until: dt.date,
    commission_percent: Decimal | None,
    commission_fixed_jpy: int | None,
) -> PartnerAgreement:
    _check_agreement_terms(
        clinic=clinic,
        shareable_fields=shareable_fields,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    commission_percent, commission_fixed_jpy = _agreement_commission(
        commission_kind, commission_percent, commission_fixed_jpy
    )
    if commission_payer not in ("clinic", "patient"):
        raise ValidationFailed("invalid_commission_payer", _("Who pays the commission?"))
    if not recipient_measures.strip():
        raise ValidationFailed(
            "recipient_measures_required",
            _("State the clinic's measures to protect personal data; families are told them."),
            {"recipient_measures": [_("Required.")]},
        )
    with transaction.atomic():
        agreement = PartnerAgreement.objects.create(
            organisation=facilitator,
            clinic=clinic,
            reference=reference,
            commission_kind=commission_kind,
            commission_percent=commission_percent,
            commission_fixed_jpy=commission_fixed_jpy,
            commission_payer=commission_payer,
            shareable_fields=list(dict.fromkeys(shareable_fields)),
            documents_shareable=documents_shareable,
            recipient_measures=recipient_measures.strip(),
            valid_from=valid_from,
            valid_until=valid_until,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=ledger,
            action="partner_agreement.create",
            subject=agreement,
            changes={
                "clinic": clinic.slug,
                "commission_kind": commission_kind,
                "commission_percent": str(commission_percent),
                "commission_fixed_jpy": commission_fixed_jpy,
                "fields": agreement.shareable_fields,
                "documents": documents_shareable,
                "valid": [valid_from.isoformat(), valid_until.isoformat()],
            },
        )
    return agreement


def agreement_end(*, actor: User, agreement: PartnerAgreement, reason: str) -> PartnerAgreement:
    """End an agreement now; every share made under it stops giving the clinic access."""
    _require(perms.can_manage_agreement, actor)
    if agreement.organisation_id != actor.organisation_id:
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed("reason_required", _("Give a reason."), {"reason": [_("Required.")]})
    if agreement.ended_at is not None:
        raise Conflict("agreement_ended", _("The agreement has already ended."))
    with transaction.atomic():
        agreement.ended_at = timezone.now()
        agreement.end_reason = reason.strip()
        agreement.save(update_fields=["ended_at", "end_reason", "updated_at"])
        audit_record(
            actor=actor,
            organisation=agreement.organisation,
            action="partner_agreement.revoke",
            subject=agreement,
            reason=reason.strip(),
        )
    return agreement


# --- referrals and consent --------------------------------------------------------------------


def _new_reference(year: int) -> str:
    n = Referral.objects.filter(reference__startswith=f"R{year}-").count() + 1
    ref = f"R{year}-{n:04d}"
    while Referral.objects.filter(reference=ref).exists():
        n += 1
        ref = f"R{year}-{n:04d}"
    return ref


def referral_open(
    *, actor: User, inquiry: Inquiry, family_country: str, patient: Patient | None = None
) -> Referral:
    """Open a referral for an inquiry the facilitator received; the family then chooses clinics."""
    _require(perms.can_manage_referral, actor)
    if inquiry.organisation_id != actor.organisation_id:
        raise NotFound()
    if patient is not None and patient.organisation_id != actor.organisation_id:
        raise NotFound()
    code = family_country.strip().upper()
    if len(code) != 2 or not code.isalpha():
        raise ValidationFailed(
            "invalid_country",
            _("Give the family's country as a two-letter code."),
            {"family_country": [_("Two letters, e.g. CN.")]},
        )
    with transaction.atomic():
        referral = Referral.objects.create(
            organisation=actor.organisation,
            reference=_new_reference(timezone.localdate().year),
            inquiry=inquiry,
            patient=patient,
            family_country=code,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="referral.open",
            subject=referral,
            changes={"inquiry": inquiry.reference, "family_country": code},
        )
    return referral


def partners_live(facilitator: Organisation, day: dt.date | None = None) -> list[PartnerAgreement]:
    """The facilitator's agreements in force on ``day``, one per clinic (the latest)."""
    day = day or _today()
    out: dict[int, PartnerAgreement] = {}
    for a in (
        PartnerAgreement.objects.filter(
            organisation=facilitator,
            voided_at__isnull=True,
            ended_at__isnull=True,
            valid_from__lte=day,
            valid_until__gte=day,
        )
        .select_related("clinic")
        .order_by("clinic__name", "-valid_from")
    ):
        out.setdefault(a.clinic_id, a)
    return list(out.values())


def transfer_information(
    *, referral: Referral, agreement: PartnerAgreement, language: str
) -> dict[str, Any]:
    """What the family must be told before data goes to this clinic (APPI Art. 28(2)); refuses a
    country Saisei cannot describe (fail closed)."""
    clinic_country = agreement.clinic.country
    cross_border = clinic_country != referral.family_country
    if not cross_border:
        return {"cross_border": False, "country": clinic_country}
    system = rules.COUNTRY_SYSTEMS.get(clinic_country)
    if system is None:
        raise Conflict(
            "transfer_country_unknown",
            _(
                "Saisei has no description of the data-protection system of %(country)s, so the "
                "family cannot be informed and nothing may be sent there."
            )
            % {"country": clinic_country},
            {"rule": [_("Data-protection system not described."), rules.APPI_ART_28]},
        )
    with translation.override(language):
        return {
            "cross_border": True,
            "country": clinic_country,
            "country_name": str(system.name),
            "system": str(system.system),
            "system_source": system.source,
            "measures": agreement.recipient_measures,
            "legal_basis": rules.APPI_ART_28,
        }


def _consent_via(
    *, referral: Referral, portal_access: PortalAccess | None, actor: User | None
) -> str:
    """Who gives the consent: the referred family through the portal, or the facilitator's staff."""
    if portal_access is not None:
        if referral.patient_id is None or portal_access.patient_id != referral.patient_id:
            raise Forbidden()
        return "portal"
    if actor is None:
        raise Forbidden()
    _require(perms.can_manage_referral, actor)
    if referral.organisation_id != actor.organisation_id:
        raise NotFound()
    return "staff"


def documents_may_travel(agreement: PartnerAgreement) -> bool:
    """Whether the family may choose documents for this clinic: the agreement allows them and
    the clinic is on this installation (to a clinic on its own installation only the consented
    fields travel, as signed messages; decision 0030)."""
    return agreement.documents_shareable and (
        exchange.peer_for(agreement.organisation_id, agreement.clinic_id) is None
    )


def _consent_fields_and_files(
    *, referral: Referral, agreement: PartnerAgreement, fields: list[str], file_ids: list[str]
) -> tuple[list[str], list[Any]]:
    """The chosen fields (once each) and the inquiry's live documents, as the agreement allows."""
    allowed = set(agreement.shareable_fields)
    fields = list(dict.fromkeys(fields))
    outside = [f for f in fields if f not in allowed]
    if outside or not fields:
        raise ValidationFailed(
            "fields_not_shareable",
            _("Choose among the fields the clinic's agreement allows."),
            {"fields": [_("Not allowed by the agreement.")]},
        )
    files = list(
        referral.inquiry.files.filter(external_id__in=file_ids, voided_at__isnull=True).values_list(
            "external_id", flat=True
        )
    )
    if len(files) != len(set(file_ids)) or (files and not documents_may_travel(agreement)):
        raise ValidationFailed(
            "files_not_shareable",
            _("These documents cannot be shared with this clinic."),
            {"file_ids": [_("Not allowed.")]},
        )
    return fields, files


def referral_consent_give(
    *,
    referral: Referral,
    agreement: PartnerAgreement,
    fields: list[str],
    file_ids: list[str],
    given_by_name: str,
    agree: bool,
    agree_transfer: bool,
    language: str,
    portal_access: PortalAccess | None = None,
    actor: User | None = None,
    client_ip: str | None = None,
) -> ReferralConsent:
    """The family consents to share these fields and documents with one clinic; where the clinic
    is in another country, to the transfer abroad after being told the country, its system and
    the clinic's measures (APPI Art. 28(1)–(2))."""
    via = _consent_via(referral=referral, portal_access=portal_access, actor=actor)
    if agreement.organisation_id != referral.organisation_id or not agreement.live_on(_today()):
        raise Conflict(
            "agreement_not_live",
            _("The facilitator has no agreement in force with this clinic."),
            {"rule": [_("No agreement in force."), rules.APPI_ART_28]},
        )
    if referral.status != Referral.Status.OPEN:
        raise Conflict("referral_not_open", _("This referral is no longer open."))
    if not agree or not given_by_name.strip():
        raise ValidationFailed(
            "consent_incomplete",
            _("Type your full name and tick the box to consent."),
            {"given_by_name": [_("Required.")], "agree": [_("Required.")]},
        )
    fields, files = _consent_fields_and_files(
        referral=referral, agreement=agreement, fields=fields, file_ids=file_ids
    )
    info = transfer_information(referral=referral, agreement=agreement, language=language)
    if info["cross_border"] and not agree_transfer:
        raise ValidationFailed(
            "transfer_consent_required",
            _(
                "This clinic is in another country. Tick the box to agree that your data is sent "
                "there after reading what protects it."
            ),
            {"agree_transfer": [_("Required.")]},
        )
    with transaction.atomic():
        consent = ReferralConsent.objects.create(
            organisation=referral.organisation,
            referral=referral,
            clinic=agreement.clinic,
            agreement=agreement,
            fields=fields,
            file_ids=[str(f) for f in files],
            cross_border=info["cross_border"],
            recipient_country=info["country"],
            recipient_country_system=info.get("system", ""),
            recipient_measures=info.get("measures", ""),
            legal_basis=info.get("legal_basis", ""),
            language=language,
            given_by_name=given_by_name.strip(),
            given_at=timezone.now(),
            via=via,
            client_ip=client_ip,
        )
        audit_record(
            actor=actor,
            organisation=referral.organisation,
            action="referral_consent.give",
            subject=consent,
            changes={
                "referral": referral.reference,
                "clinic": agreement.clinic.slug,
                "fields": fields,
                "files": len(files),
                "cross_border": info["cross_border"],
                "country": info["country"],
                "via": via,
            },
        )
    return consent


def referral_consent_withdraw(
    *,
    consent: ReferralConsent,
    reason: str,
    portal_access: PortalAccess | None = None,
    actor: User | None = None,
) -> ReferralConsent:
    """The family withdraws a clinic's consent; every share under it ends at once."""
    if portal_access is not None:
        if portal_access.patient_id != consent.referral.patient_id:
            raise Forbidden()
    elif actor is not None:
        _require(perms.can_manage_referral, actor)
        if consent.organisation_id != actor.organisation_id:
            raise NotFound()
    else:
        raise Forbidden()
    reason = reason.strip() or gettext("Withdrawn by the family.")
    if consent.withdrawn_at is not None:
        raise Conflict("consent_withdrawn", _("This consent was already withdrawn."))
    with transaction.atomic():
        now = timezone.now()
        consent.withdrawn_at = now
        consent.withdraw_reason = reason
        consent.save(update_fields=["withdrawn_at", "withdraw_reason", "updated_at"])
        for share in consent.shares.filter(revoked_at__isnull=True):
            _revoke(share, actor=actor, reason=reason, now=now)
        audit_record(
            actor=actor,
            organisation=consent.organisation,
            action="referral_consent.revoke",
            subject=consent,
            reason=reason,
        )
    return consent


# --- shares -----------------------------------------------------------------------------------


def share_create(*, actor: User, referral: Referral, consent: ReferralConsent) -> Share:
    """Share exactly what the family consented to with that clinic (and what the agreement
    allows); refused without a live consent and agreement (fail closed)."""
    _require(perms.can_manage_referral, actor)
    if referral.organisation_id != actor.organisation_id or consent.referral_id != referral.pk:
        raise NotFound()
    agreement = consent.agreement
    if consent.withdrawn_at is not None:
        raise Conflict(
            "consent_withdrawn",
            _("The family withdrew this consent; nothing can be shared."),
            {"rule": [_("No consent."), rules.APPI_ART_28]},
        )
    if not agreement.live_on(_today()):
        raise Conflict(
            "agreement_not_live",
            _("The facilitator has no agreement in force with this clinic."),
            {"rule": [_("No agreement in force."), rules.APPI_ART_28]},
        )
    if consent.cross_border and not (
        consent.recipient_country_system and consent.recipient_measures
    ):
        raise Conflict(
            "transfer_consent_missing",
            _("The transfer abroad was not consented with the required information."),
            {"rule": [_("No transfer consent."), rules.APPI_ART_28]},
        )
    if Share.objects.filter(consent=consent, revoked_at__isnull=True).exists():
        raise Conflict("already_shared", _("This has already been shared with the clinic."))
    fields = [f for f in consent.fields if f in set(agreement.shareable_fields)]
    files = (
        list(
            referral.inquiry.files.filter(external_id__in=consent.file_ids, voided_at__isnull=True)
        )
        if agreement.documents_shareable
        else []
    )
    # A clinic on its own installation receives the referral as a signed message (decision
    # 0030); documents stay at the facilitator (only the consented fields travel).
    peer = exchange.peer_for(referral.organisation_id, consent.clinic_id)
    if peer is not None:
        files = []
    with transaction.atomic():
        share = Share.objects.create(
            organisation=referral.organisation,
            referral=referral,
            clinic=consent.clinic,
            agreement=agreement,
            consent=consent,
            fields=fields,
            shared_by=actor,
            shared_at=timezone.now(),
            peer=peer,
        )
        share.files.set(files)
        if peer is not None:
            exchange.send_referral(share, peer)
        audit_record(
            actor=actor,
            organisation=referral.organisation,
            action="share.create",
            subject=share,
            changes={
                "referral": referral.reference,
                "clinic": consent.clinic.slug,
                "fields": fields,
                "files": [str(f.external_id) for f in files],
                "cross_border": consent.cross_border,
            },
        )
    return share


def _revoke(share: Share, *, actor: User | None, reason: str, now: dt.datetime) -> None:
    share.revoked_at = now
    share.revoked_by = actor
    share.revoke_reason = reason
    if share.status in (Share.Status.SHARED, Share.Status.QUOTED):
        share.status = Share.Status.REVOKED
    share.save(update_fields=["revoked_at", "revoked_by", "revoke_reason", "status", "updated_at"])
    audit_record(
        actor=actor,
        organisation=share.organisation,
        action="share.revoke",
        subject=share,
        changes={"clinic": share.clinic.slug},
        reason=reason,
    )
    if share.peer_id is not None:
        exchange.send_revocation(share, reason)


def share_revoke(*, actor: User, share: Share, reason: str) -> Share:
    """End a clinic's access to a referral now."""
    _require(perms.can_manage_referral, actor)
    if share.organisation_id != actor.organisation_id:
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed("reason_required", _("Give a reason."), {"reason": [_("Required.")]})
    if share.revoked_at is not None:
        raise Conflict("share_revoked", _("Sharing with this clinic has already ended."))
    with transaction.atomic():
        _revoke(share, actor=actor, reason=reason.strip(), now=timezone.now())
    return share


# --- the clinic's answer ----------------------------------------------------------------------


def _live_share_for_clinic(actor: User, share: Share) -> Share:
    from .selectors import share_for_clinic

    return share_for_clinic(actor=actor, external_id=share.external_id)


def share_decline(*, actor: User, share: Share, reason: str) -> Share:
    """The clinic declines the referral with a reason the facilitator and family read."""
    _require(perms.can_answer_referral, actor)
    share = _live_share_for_clinic(actor, share)
    if not reason.strip():
        raise ValidationFailed("reason_required", _("Give a reason."), {"reason": [_("Required.")]})
    if share.status != Share.Status.SHARED:
        raise Conflict("share_answered", _("This referral has already been answered."))
    with transaction.atomic():
        share.status = Share.Status.DECLINED
        share.declined_at = timezone.now()
        share.decline_reason = reason.strip()
        share.save(update_fields=["status", "declined_at", "decline_reason", "updated_at"])
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="referral.decline",
            subject=share,
            changes={"referral": share.referral.reference},
            reason=reason.strip(),
        )
        if share.peer_id is not None:
            exchange.send_decline(share)
    return share


def _commission(agreement: PartnerAgreement) -> Decimal | int:
    if agreement.commission_kind == PartnerAgreement.CommissionKind.PERCENT:
        return (Decimal(agreement.commission_percent or 0) / Decimal(100)).quantize(
            Decimal("0.0001")
        )
    return int(agreement.commission_fixed_jpy or 0)


def _quote_patient(actor: User, share: Share) -> Patient:
    """The clinic's record of the referred person for quoting: the referral's reference only,
    plus the date of birth the family shared (the patient record requires one)."""
    if share.quote_id is not None:
        return share.quote.patient  # type: ignore[union-attr]
    if (
        "patient_date_of_birth" not in share.fields
        or not share.referral.inquiry.patient_date_of_birth
    ):
        raise ValidationFailed(
            "date_of_birth_not_shared",
            _("The family did not share the patient's date of birth; ask the facilitator."),
            {"patient_date_of_birth": [_("Not shared.")]},
        )
    return journey_services.patient_record_referred(
        actor=actor,
        reference=share.referral.reference,
        date_of_birth=share.referral.inquiry.patient_date_of_birth,
        language=share.referral.inquiry.language,
        country=share.referral.family_country,
    )


def earliest_start(package: TreatmentPackage, *, institution: Any, day: dt.date) -> dt.date | None:
    """The first visit the itinerary planner finds from two weeks after today, or None."""
    from saisei.journey.itinerary import ItineraryInfeasible

    data = {
        "earliest_arrival": (day + dt.timedelta(days=14)).isoformat(),
        "latest_return": (day + dt.timedelta(days=730)).isoformat(),
        "infusions": package.infusions,
        "interval_days": package.interval_days,
        "culture_days": package.culture_days,
        "max_stay_days": 90,
    }
    try:
        _req, itinerary = planning.plan(data, institution=institution)
    except ItineraryInfeasible:
        return None
    visits = itinerary.visits
    return min(v.date for v in visits) if visits else None


def share_quote(
    *,
    actor: User,
    share: Share,
    package: TreatmentPackage,
    price_list: Any,
    follow_ups: int = 0,
    interpreter_days: int = 0,
    currency: str | None = None,
    fx_jpy_per_unit: Decimal | None = None,
    fx_date: dt.date | None = None,
    fx_source: str = "",
) -> Share:
    """The clinic answers with its ordinary quote: the agreement's commission as its own line,
    issued only while the plan is in force (journey's quote rules), with the planner's earliest
    start."""
    _require(perms.can_answer_referral, actor)
    share = _live_share_for_clinic(actor, share)
    if share.status != Share.Status.SHARED:
        raise Conflict("share_answered", _("This referral has already been answered."))
    if package.organisation_id != actor.organisation_id:
        raise NotFound()
    plan = package.plan
    if journey_services.plan_version_in_force(plan=plan, day=_today()) is None:
        raise Conflict(
            "plan_not_in_force",
            _("The provision plan %(plan)s is not in force, so no quote can be sent for it.")
            % {"plan": plan.plan_number or plan.title},
            {"plan": [_("The plan is not in force.")]},
        )
    inquiry = share.referral.inquiry
    with transaction.atomic():
        patient = _quote_patient(actor, share)
        quote = journey_services.quote_create(
            actor=actor,
            patient=patient,
            plan=plan,
            price_list=price_list,
            infusions=package.infusions,
            follow_ups=follow_ups,
            interpreter_days=interpreter_days,
            commission=_commission(share.agreement),
            commission_payer=share.agreement.commission_payer,
            facilitator=share.organisation,
            currency=currency,
            fx_jpy_per_unit=fx_jpy_per_unit,
            fx_date=fx_date,
            fx_source=fx_source,
            language=inquiry.language,
        )
        quote = journey_services.quote_issue(actor=actor, quote=quote)
        share.quote = quote
        share.package = package
        share.status = Share.Status.QUOTED
        share.quoted_at = timezone.now()
        share.earliest_start = earliest_start(package, institution=plan.institution, day=_today())
        share.save(
            update_fields=[
                "quote",
                "package",
                "status",
                "quoted_at",
                "earliest_start",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="referral.quote",
            subject=share,
            changes={
                "referral": share.referral.reference,
                "quote": f"{quote.number} v{quote.version}",
                "total_jpy": quote.total_jpy,
            },
        )
        if share.peer_id is not None:
            exchange.send_quote(share, _quote_summary(share))
    return share


def _quote_summary(share: Share) -> dict[str, Any]:
    """The quote as the facilitator's comparison shows it, for a facilitator on another
    installation (the same row the comparison builds here)."""
    from .selectors import quote_row

    row = quote_row(share, day=_today())
    quote = share.quote
    assert quote is not None
    return {
        "number": quote.number,
        "version": quote.version,
        "valid_until": quote.valid_until.isoformat(),
        "plan_number": row.plan_number,
        "plan_title": row.plan_title,
        "plan_status": row.plan_status,
        "plan_in_force": row.plan_in_force,
        "risk_class": int(row.risk_class or 0),
        "route": row.route,
        "infusions": int(row.infusions or 0),
        "cells_per_infusion": int(row.cells_per_infusion or 0),
        "earliest_start": row.earliest_start.isoformat() if row.earliest_start else None,
        "clinic_price_jpy": row.clinic_price_jpy,
        "commission_jpy": row.commission_jpy,
        "commission_payer": row.commission_payer,
        "total_jpy": row.total_jpy,
        "refund_schedule": exchange.plain(row.refund_schedule),
        "facilities": exchange.plain(row.facilities),
        "evidence": exchange.plain(row.evidence),
        "risks": exchange.plain(row.risks),
    }


# --- the family's choice ----------------------------------------------------------------------


def referral_order_set(*, referral: Referral, order: str, portal_access: PortalAccess) -> Referral:
    """The family chooses how quotes are ordered: by earliest start or by cost."""
    if portal_access.patient_id != referral.patient_id:
        raise Forbidden()
    if order not in Referral.Order.values:
        raise ValidationFailed("invalid_order", _("Unknown order."))
    Referral.objects.filter(pk=referral.pk).update(order=order)
    referral.order = order
    return referral


def comparison_accept(
    *,
    referral: Referral,
    share: Share,
    accepted_by_name: str,
    agree: bool,
    portal_access: PortalAccess,
    client_ip: str | None = None,
) -> Share:
    """The family accepts one clinic's quote; every other open answer is closed with a reason."""
    if portal_access.patient_id != referral.patient_id or share.referral_id != referral.pk:
        raise Forbidden()
    if not agree or not accepted_by_name.strip():
        raise ValidationFailed(
            "acceptance_incomplete",
            _("Type your full name and tick the box to accept the quote."),
            {"accepted_by_name": [_("Required.")], "agree": [_("Required.")]},
        )
    if referral.status != Referral.Status.OPEN:
        raise Conflict("referral_not_open", _("A quote has already been accepted."))
    from .selectors import share_is_live

    if share.status != Share.Status.QUOTED or not share_is_live(share):
        raise Conflict("quote_not_available", _("This quote can no longer be accepted."))
    if share.quote is None and share.remote_quote and share.peer_id is not None:
        return _accept_remote(referral, share, accepted_by_name.strip())
    if share.quote is None:
        raise Conflict("quote_not_available", _("This quote can no longer be accepted."))
    quote = share.quote
    today = _today()
    if quote.valid_until < today:
        raise Conflict("quote_expired", _("This quote has expired."))
    if journey_services.plan_version_in_force(plan=quote.plan, day=today) is None:
        raise Conflict("plan_not_in_force", _("The clinic's plan is no longer in force."))
    now = timezone.now()
    with transaction.atomic():
        QUOTE.apply(
            quote,
            "accept",
            actor=None,
            updates={
                "accepted_at": now,
                "accepted_by_name": accepted_by_name.strip(),
                "acceptance_evidence": {
                    "via": "facilitator_portal",
                    "referral": referral.reference,
                    "portal_access": str(portal_access.external_id),
                    "ip": client_ip,
                    "total_jpy": quote.total_jpy,
                    "version": quote.version,
                    "at": now.isoformat(),
                },
            },
            changes={"by": accepted_by_name.strip(), "via": "facilitator_portal"},
            audit_action="quote.accept",
        )
        share.status = Share.Status.ACCEPTED
        share.save(update_fields=["status", "updated_at"])
        _close_others(referral, share)
        audit_record(
            actor=None,
            organisation=referral.organisation,
            action="referral.accept",
            subject=referral,
            changes={"clinic": share.clinic.slug, "quote": f"{quote.number} v{quote.version}"},
        )
    return share


def _close_others(referral: Referral, share: Share) -> None:
    for other in referral.shares.exclude(pk=share.pk).filter(
        status__in=[Share.Status.SHARED, Share.Status.QUOTED]
    ):
        other.status = Share.Status.CLOSED
        other.closed_reason = CLOSED_NOT_CHOSEN
        other.save(update_fields=["status", "closed_reason", "updated_at"])
        exchange.send_closure(other)
    referral.status = Referral.Status.ACCEPTED
    referral.save(update_fields=["status", "updated_at"])


def _accept_remote(referral: Referral, share: Share, name: str) -> Share:
    """The family accepts the quote of a clinic on another installation: recorded here, and the
    clinic is told by a signed message (it accepts the quote in its own records)."""
    remote = share.remote_quote or {}
    try:
        valid_until = dt.date.fromisoformat(str(remote.get("valid_until", "")))
    except ValueError:
        valid_until = dt.date.min
    if valid_until < _today():
        raise Conflict("quote_expired", _("This quote has expired."))
    if not remote.get("plan_in_force"):
        raise Conflict("plan_not_in_force", _("The clinic's plan is no longer in force."))
    with transaction.atomic():
        share.status = Share.Status.ACCEPTED
        share.remote_quote = {**remote, "accepted_at": timezone.now().isoformat()}
        share.save(update_fields=["status", "remote_quote", "updated_at"])
        _close_others(referral, share)
        exchange.send_acceptance(share, name)
        audit_record(
            actor=None,
            organisation=referral.organisation,
            action="referral.accept",
            subject=referral,
            changes={
                "clinic": share.clinic.slug,
                "quote": f"{remote.get('number')} v{remote.get('version')}",
                "by": name,
                "via": "peer_installation",
            },
        )
    return share
