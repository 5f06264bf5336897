"""Written consent (ASRM Art. 14): documents, giving consent with a signature, withdrawal."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import User
from saisei.core.services import signature_verify

from .. import permissions as perms
from ..lifecycles import COURSE, COURSE_STEP, INQUIRY, follow
from ..models import (
    Consent,
    ConsentDocument,
    LegalProxy,
    Patient,
    TreatmentCourse,
)
from ._common import Conflict, ValidationFailed, require


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
    now = timezone.now()
    _check_consent_inputs(
        patient=patient,
        document=document,
        given_by=given_by,
        signer_name=signer_name,
        signer_confirms=signer_confirms,
        proxy=proxy,
        paper_signed_at=paper_signed_at,
        now=now,
    )
    from ..selectors import consent_status_for_gate

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
            signature_evidence=_consent_evidence(
                signature=sig.as_dict(),
                document=document,
                digest=digest,
                signer_name=signer_name,
                paper=paper_signed_at is not None,
                now=now,
            ),
        )
        _enrol_on_consent(actor=actor, patient=patient, now=now)
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


def _check_consent_inputs(
    *,
    patient: Patient,
    document: ConsentDocument,
    given_by: str,
    signer_name: str,
    signer_confirms: bool,
    proxy: LegalProxy | None,
    paper_signed_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Refuse an unknown or replaced document, an unknown signer role, a proxy consent without
    the patient's legal proxy, a signer who has not typed their name and confirmed, and a
    paper consent dated in the future."""
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
    if paper_signed_at is not None and paper_signed_at > now:
        raise ValidationFailed(
            "signed_in_future",
            _("A paper consent cannot be dated in the future."),
            {"paper_signed_at": [_("In the future.")]},
        )


def _consent_evidence(
    *,
    signature: dict[str, Any],
    document: ConsentDocument,
    digest: str,
    signer_name: str,
    paper: bool,
    now: dt.datetime,
) -> dict[str, Any]:
    """What the consent's signature rests on: the physician's signature, the exact document
    (SHA-256, version, language), the signer's typed name and how it was signed."""
    return {
        "physician_signature": signature,
        "document_sha256": digest,
        "document_version": document.version,
        "document_language": document.language,
        "signer_typed_name": signer_name.strip(),
        "signer_confirmed": True,
        "method": (
            "paper form signed on the stated date, recorded and countersigned later"
            if paper
            else "typed name, witnessed by the explaining physician"
        ),
        "recorded_at": now.isoformat(),
    }


def _enrol_on_consent(*, actor: User, patient: Patient, now: dt.datetime) -> None:
    """Consent given enrols a prospective patient and moves their inquiry to enrolled."""
    if patient.status == Patient.Status.PROSPECTIVE:
        patient.status = Patient.Status.ENROLLED
        patient.save(update_fields=["status", "updated_at"])
    inquiry = patient.inquiry
    if inquiry is not None:
        follow(INQUIRY, inquiry, "enrol", actor=actor, updates={"status_changed_at": now})


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
            COURSE.apply(
                course,
                "stop",
                actor=actor,
                updates={"stopped_at": at, "stop_reason": f"consent withdrawn: {reason.strip()}"},
                reason=reason.strip(),
            )
            for step in course.steps.filter(status__in=["planned", "scheduled", "blocked"]):
                COURSE_STEP.apply(step, "cancel", actor=actor, reason=reason.strip())
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
