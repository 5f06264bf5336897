"""Intake services: public inquiries, the coordinator queue, enrolment, visa papers, portal links."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import Organisation, User

from .. import permissions as perms
from .. import rules
from ..lifecycles import INQUIRY, follow, inquiry_move_to
from ..models import (
    GuarantorRecord,
    Inquiry,
    InquiryFile,
    InquiryFormToken,
    LegalProxy,
    Patient,
    PortalAccess,
    VisaDocument,
)
from ._common import Conflict, Throttled, ValidationFailed, require

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
_TOKEN_SALT = "saisei.journey.inquiry"

INQUIRY_FIELDS = (
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_relationship",
    "patient_name",
    "patient_family_name",
    "patient_given_name",
    "patient_name_native",
    "patient_name_reading",
    "patient_date_of_birth",
    "patient_sex",
    "country",
    "diagnosis",
    "diagnosis_when",
    "current_medicines",
    "cognitive_scores",
    "mobility",
    "legal_proxy",
    "travel_windows",
    "message",
)


# --- public inquiry --------------------------------------------------------------------------


class _IssuedAt(signing.TimestampSigner):
    def __init__(self, issued_at: dt.datetime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._issued_at = issued_at

    def timestamp(self) -> str:
        return signing.b62_encode(int(self._issued_at.timestamp()))


def inquiry_token(*, issued_at: dt.datetime | None = None) -> str:
    """A signed timestamp put into the form when it is shown; checked on submit (bot protection).

    `issued_at` lets server-side importers (demo data, phone intake) state when the form was
    started; the browser never chooses it.
    """
    signer = (
        _IssuedAt(issued_at, salt=_TOKEN_SALT)
        if issued_at is not None
        else signing.TimestampSigner(salt=_TOKEN_SALT)
    )
    return signer.sign(secrets.token_hex(8))


def _check_bot(*, form_token: str, honeypot: str) -> None:
    if honeypot.strip():
        raise ValidationFailed(
            "inquiry_rejected", _("The form could not be sent. Please try again.")
        )
    signer = signing.TimestampSigner(salt=_TOKEN_SALT)
    try:
        signer.unsign(form_token, max_age=dt.timedelta(days=1))
    except signing.SignatureExpired:
        raise ValidationFailed(
            "form_expired",
            _("The form was open for too long. Please check your answers and send it again."),
        ) from None
    except signing.BadSignature:
        raise ValidationFailed(
            "inquiry_rejected", _("The form could not be sent. Please try again.")
        ) from None
    try:
        signer.unsign(form_token, max_age=dt.timedelta(seconds=rules.inquiry_min_fill_seconds()))
    except signing.SignatureExpired:
        return
    raise ValidationFailed(
        "form_too_fast",
        _("The form was sent very quickly. Please check your answers and send it again."),
    )


def upload_detected_types(files: Iterable[UploadedFile]) -> list[rules.UploadType | None]:
    """The accepted type of each file, read from its first bytes (None: not an accepted type)."""
    out: list[rules.UploadType | None] = []
    for f in files:
        f.seek(0)
        head = f.read(rules.UPLOAD_SNIFF_BYTES)
        f.seek(0)
        out.append(rules.upload_type_detect(head))
    return out


def upload_problems(files: Iterable[UploadedFile]) -> list[str]:
    """Explain, per file, why an upload cannot be accepted (size, or content of no accepted type).

    The type is judged by content only (rules.UPLOAD_TYPES): the name and the type the browser
    claims are not trusted.
    """
    problems: list[str] = []
    files = list(files)
    limit = rules.upload_max_bytes()
    if len(files) > rules.upload_max_files():
        problems.append(
            gettext("You can send at most %(n)s files with one inquiry.")
            % {"n": rules.upload_max_files()}
        )
    for f, kind in zip(files, upload_detected_types(files), strict=True):
        name = f.name or "?"
        size = f.size or 0
        if size == 0:
            problems.append(gettext("%(name)s is empty.") % {"name": name})
            continue
        if size > limit:
            problems.append(
                gettext("%(name)s is too big (%(size)s MB); the limit is %(limit)s MB per file.")
                % {"name": name, "size": round(size / 1048576, 1), "limit": limit // 1048576}
            )
            continue
        if kind is not None:
            continue
        claimed = rules.upload_type_named(name)
        if claimed is None:
            problems.append(
                gettext(
                    "%(name)s is not a file type we accept. Please send PDF, JPEG or PNG files."
                )
                % {"name": name}
            )
        else:
            problems.append(
                gettext(
                    "%(name)s seems to be damaged or is not really a %(type)s file. "
                    "Please save it again and send it."
                )
                % {"name": name, "type": claimed.extension.lstrip(".").upper()}
            )
    return problems


def _token_hash(form_token: str) -> str:
    return hashlib.sha256(form_token.encode()).hexdigest()


def _form_token_consume(form_token: str) -> None:
    """Mark the form token used; a token already used refuses the form (a replayed post)."""
    try:
        with transaction.atomic():
            InquiryFormToken.objects.create(
                token_hash=_token_hash(form_token), used_at=timezone.now()
            )
    except IntegrityError:
        raise ValidationFailed(
            "form_already_sent",
            _(
                "This form has already been sent. If you want to send another inquiry, "
                "please open the form again."
            ),
        ) from None


def _check_rate(*, email: str, client_ip: str | None) -> None:
    """Refuse a flood: per client address, per contact e-mail and in total (settings, rules.py).

    Counted on the stored inquiries themselves, so every web process sees the same numbers.
    """
    now = timezone.now()
    hour = Inquiry.objects.filter(created_at__gte=now - dt.timedelta(hours=1))
    busy = _(
        "We have received many inquiries in a short time. Please try again in an hour, or "
        "write to us by e-mail."
    )
    if hour.count() >= rules.inquiry_max_per_hour():
        raise Throttled("inquiry_rate_global", busy)
    if client_ip and hour.filter(submitted_ip=client_ip).count() >= (
        rules.inquiry_max_per_address_per_hour()
    ):
        raise Throttled("inquiry_rate_address", busy)
    day = Inquiry.objects.filter(created_at__gte=now - dt.timedelta(days=1))
    if email and day.filter(contact_email__iexact=email.strip()).count() >= (
        rules.inquiry_max_per_email_per_day()
    ):
        raise Throttled(
            "inquiry_rate_email",
            _(
                "We have already received several inquiries from this e-mail address today. "
                "A coordinator will reply to them; there is no need to send the form again."
            ),
            {"contact_email": [_("Too many inquiries from this address today.")]},
        )


def _new_reference() -> str:
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"INQ-{body[:4]}-{body[4:]}"


def inquiry_submit(
    *,
    organisation: Organisation,
    data: dict[str, Any],
    files: list[UploadedFile],
    privacy_consent: bool,
    form_token: str,
    honeypot: str = "",
    language: str = "en",
    client_ip: str | None = None,
) -> Inquiry:
    """Record a family's inquiry from the public page; nothing is saved unless all of it is valid.

    The form token is used up with the inquiry (a replayed post is refused), and the rate limits
    are checked before anything is stored.
    """
    _check_bot(form_token=form_token, honeypot=honeypot)
    _check_rate(email=str(data.get("contact_email") or ""), client_ip=client_ip)
    if not privacy_consent:
        raise ValidationFailed(
            "privacy_consent_required",
            _("Please agree to how we use your information, or we cannot answer your inquiry."),
            {"privacy_consent": [_("This is required.")]},
        )
    problems = upload_problems(files)
    if problems:
        raise ValidationFailed(
            "upload_rejected",
            _(
                "Some files could not be accepted. Your answers are kept; "
                "please choose the files again."
            ),
            {"files": problems},
        )
    notice = rules.PRIVACY_NOTICES[rules.CURRENT_PRIVACY_NOTICE]
    with translation.override(language):
        notice_text = f"{gettext(notice.purpose)}\n\n{gettext(notice.retention)}"
    values = _inquiry_values(data)
    now = timezone.now()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                _form_token_consume(form_token)
                inquiry = Inquiry.objects.create(
                    organisation=organisation,
                    reference=_new_reference(),
                    language=language,
                    privacy_notice_version=notice.version,
                    privacy_notice_language=language,
                    privacy_notice_text=notice_text,
                    privacy_consent_at=now,
                    submitted_ip=client_ip,
                    status_changed_at=now,
                    **values,
                )
                for f, kind in zip(files, upload_detected_types(files), strict=True):
                    assert kind is not None  # upload_problems refused every other file
                    _inquiry_file_store(inquiry, f, kind)
                audit_record(
                    actor=None,
                    organisation=organisation,
                    action="inquiry.submit",
                    subject=inquiry,
                    changes={
                        "reference": inquiry.reference,
                        "files": len(files),
                        "privacy_notice": notice.version,
                    },
                )
                transaction.on_commit(lambda i=inquiry: _send_inquiry_confirmation(i))  # type: ignore[misc]
            return inquiry
        except IntegrityError:
            continue  # reference collision; draw again
    raise Conflict("reference_unavailable", _("Please try again."))


def _inquiry_values(data: dict[str, Any]) -> dict[str, Any]:
    """The inquiry's fields from the form, names trimmed; the patient's name is required, as
    one name or as family and given names."""
    values = {k: data.get(k) for k in INQUIRY_FIELDS if data.get(k) not in (None,)}
    for key in ("patient_sex", "mobility"):
        if not values.get(key):
            values.pop(key, None)
    for key in (
        "patient_family_name",
        "patient_given_name",
        "patient_name_native",
        "patient_name_reading",
    ):
        values[key] = str(values.get(key) or "").strip()
    if not values.get("patient_name"):
        # Composed from the parts the family gave, family name first and marked as such.
        if not (values["patient_family_name"] and values["patient_given_name"]):
            raise ValidationFailed(
                "patient_name_required",
                _("Please give the patient's family name and given name."),
                {
                    "patient_family_name": [_("This is required.")],
                    "patient_given_name": [_("This is required.")],
                },
            )
        values["patient_name"] = f"{values['patient_family_name']}, {values['patient_given_name']}"
    return values


def _inquiry_file_store(inquiry: Inquiry, f: UploadedFile, kind: rules.UploadType) -> None:
    """Keep one uploaded file with the inquiry under a random name carrying the detected type's
    extension (the family's file name is kept only as text), with its SHA-256 digest."""
    digest = hashlib.sha256()
    for chunk in f.chunks():
        digest.update(chunk)
    f.seek(0)
    record = InquiryFile(
        organisation=inquiry.organisation,
        inquiry=inquiry,
        original_name=(f.name or "upload")[:255],
        content_type=kind.content_type,
        size=f.size or 0,
        sha256=digest.hexdigest(),
    )
    record.file.save(f"{secrets.token_hex(16)}{kind.extension}", f, save=False)
    record.save()


def _send_inquiry_confirmation(inquiry: Inquiry) -> None:
    with translation.override(inquiry.language):
        subject = gettext("We received your inquiry %(ref)s") % {"ref": inquiry.reference}
        body = gettext(
            "Dear %(name)s,\n\nThank you for your inquiry about %(patient)s. Your reference "
            "number is %(ref)s. A coordinator will reply within a few working days.\n\n"
            "We use your information only to answer this inquiry, as described in the notice you "
            "agreed to.\n"
        ) % {
            "name": inquiry.contact_name,
            "patient": inquiry.patient_name,
            "ref": inquiry.reference,
        }
    send_mail(
        subject, body, settings.DEFAULT_FROM_EMAIL, [inquiry.contact_email], fail_silently=True
    )


def inquiry_status_change(
    *, actor: User, inquiry: Inquiry, status: str, note: str = "", assign_to: User | None = None
) -> Inquiry:
    """Move an inquiry through the coordinator queue along the allowed transitions."""
    require(perms.can_manage_inquiry, actor, inquiry)
    updates: dict[str, Any] = {"status_changed_at": timezone.now()}
    if note:
        updates["coordinator_note"] = note
    if assign_to is not None:
        updates["assigned_to"] = assign_to
    elif inquiry.assigned_to_id is None:
        updates["assigned_to"] = actor
    return INQUIRY.apply(
        inquiry,
        inquiry_move_to(inquiry.status, status),
        actor=actor,
        updates=updates,
        changes={"note": note},
        audit_action="inquiry.status_change",
    )


# --- enrolment -------------------------------------------------------------------------------


def _next_patient_code(organisation: Organisation, year: int) -> str:
    prefix = f"P{year}-"
    last = (
        Patient.objects.filter(organisation=organisation, patient_code__startswith=prefix)
        .order_by("-patient_code")
        .values_list("patient_code", flat=True)
        .first()
    )
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:04d}"


def inquiry_record_referred(
    *, facilitator: Organisation, language: str, values: dict[str, Any], given_at: dt.datetime
) -> Inquiry:
    """A family's inquiry as a facilitator on another installation referred it (decision 0030):
    exactly the consented fields; the privacy notice was given by that installation."""
    values = dict(values)
    inquiry = Inquiry.objects.create(
        organisation=facilitator,
        reference=f"X{secrets.token_hex(8)[:15].upper()}",
        language=language,
        contact_name=values.pop("contact_name", ""),
        contact_email=values.pop("contact_email", ""),
        patient_name=values.pop("patient_name", ""),
        country=values.pop("country", ""),
        diagnosis=values.pop("diagnosis", ""),
        privacy_notice_version="peer",
        privacy_notice_language=language,
        privacy_notice_text="",
        privacy_consent_at=given_at,
        **values,
    )
    audit_record(
        actor=None,
        organisation=facilitator,
        action="inquiry.receive_referral",
        subject=inquiry,
        changes={"reference": inquiry.reference, "fields": sorted(values)},
    )
    return inquiry


def patient_record_referred(
    *, actor: User, reference: str, date_of_birth: dt.date, language: str, country: str
) -> Patient:
    """The clinic's record of a referred person for quoting: the referral's reference stands for
    the name, which the family did not share; the date of birth they shared."""
    patient = Patient.objects.create(
        organisation=actor.organisation,
        patient_code=f"R-{reference}"[:20],
        family_name=reference,
        given_name="—",
        date_of_birth=date_of_birth,
        sex="unknown",
        language=language,
        country=country,
        enrolled_by=actor,
    )
    audit_record(
        actor=actor,
        organisation=actor.organisation,
        action="patient.record_referred",
        subject=patient,
        changes={"patient_code": patient.patient_code, "referral": reference},
    )
    return patient


def patient_enrol(
    *,
    actor: User,
    family_name: str,
    given_name: str,
    date_of_birth: dt.date,
    sex: str,
    language: str,
    inquiry: Inquiry | None = None,
    proxy: dict[str, Any] | None = None,
    **fields: Any,
) -> Patient:
    """Create the patient record (identifiers, contacts, legal proxy, home physician)."""
    require(perms.can_enrol_patient, actor)
    organisation = actor.organisation
    assert organisation is not None  # staff users always belong to one (require checked it)
    if inquiry is not None and inquiry.organisation_id != actor.organisation_id:
        raise ValidationFailed("inquiry_not_found", _("Unknown inquiry."))
    _check_birth_date(date_of_birth)
    _check_enrol_fields(fields)
    with transaction.atomic():
        for _attempt in range(5):
            code = _next_patient_code(organisation, timezone.localdate().year)
            try:
                with transaction.atomic():
                    patient = Patient.objects.create(
                        organisation=organisation,
                        patient_code=code,
                        family_name=family_name,
                        given_name=given_name,
                        date_of_birth=date_of_birth,
                        sex=sex,
                        language=language,
                        inquiry=inquiry,
                        enrolled_by=actor,
                        **_diagnosis_from_inquiry(inquiry),
                        **fields,
                    )
                break
            except IntegrityError:
                continue
        else:
            raise Conflict("patient_code_unavailable", _("Please try again."))
        if proxy and proxy.get("name"):
            _proxy_create(patient, proxy)
        if inquiry is not None:
            follow(
                INQUIRY,
                inquiry,
                "register_patient",
                actor=actor,
                updates={"status_changed_at": timezone.now()},
            )
        audit_record(
            actor=actor,
            organisation=organisation,
            action="patient.enrol",
            subject=patient,
            changes={
                "patient_code": patient.patient_code,
                "inquiry": inquiry.reference if inquiry else None,
                "proxy": bool(proxy and proxy.get("name")),
                "diagnosis_code": patient.diagnosis_code,
            },
        )
    return patient


def _check_birth_date(date_of_birth: dt.date) -> None:
    if date_of_birth > timezone.localdate():
        raise ValidationFailed(
            "date_of_birth_future",
            _("The date of birth cannot be in the future."),
            {"date_of_birth": [_("The date of birth cannot be in the future.")]},
        )
    if date_of_birth < rules.EARLIEST_BIRTH_DATE:
        raise ValidationFailed(
            "date_of_birth_implausible",
            _("The date of birth is too far in the past; please check it."),
            {"date_of_birth": [_("The date of birth is too far in the past.")]},
        )


def _proxy_create(patient: Patient, proxy: dict[str, Any]) -> None:
    """The legal proxy named at enrolment."""
    LegalProxy.objects.create(
        organisation=patient.organisation,
        patient=patient,
        name=proxy["name"],
        relationship=proxy.get("relationship", ""),
        authority=proxy.get("authority", ""),
        email=proxy.get("email", ""),
        phone=proxy.get("phone", ""),
    )


def _check_enrol_fields(fields: dict[str, Any]) -> None:
    """Refuse a field the patient record does not have or that enrolment does not set."""
    allowed = {f.name for f in Patient._meta.get_fields()} - {
        "id",
        "organisation",
        "patient_code",
        "status",
        "external_id",
        "enrolled_by",
        # The coded diagnosis is taken from the inquiry here, and set by a physician later
        # (patient_diagnosis_set), never typed in by whoever enrols.
        "diagnosis_code",
        "diagnosis_text",
        "diagnosis_source",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationFailed("unknown_fields", _("Unknown fields."), {k: ["?"] for k in unknown})


def _diagnosis_from_inquiry(inquiry: Inquiry | None) -> dict[str, str]:
    """The inquiry's reported diagnosis, coded when it names exactly one indication."""
    if inquiry is None or not inquiry.diagnosis.strip():
        return {}
    from saisei.regulatory.config import indication_vocabulary
    from saisei.regulatory.rules import indication_code

    code = indication_code(inquiry.diagnosis, indication_vocabulary()) or ""
    return {
        "diagnosis_text": inquiry.diagnosis.strip()[:300],
        "diagnosis_code": code,
        "diagnosis_source": Patient.DiagnosisSource.INQUIRY if code else "",
    }


def patient_diagnosis_set(
    *, actor: User, patient: Patient, code: str, text: str = "", reason: str = ""
) -> Patient:
    """A physician records or corrects the patient's coded diagnosis (the gate checks it).

    The code must be one of the coded indications (ICD-10 categories); changing an existing
    one needs a reason, and both are kept in the audit ledger and the row history.
    """
    require(perms.can_set_diagnosis, actor, patient)
    from saisei.regulatory.config import indication_vocabulary
    from saisei.regulatory.rules import indication_code

    coded = indication_code(code, indication_vocabulary())
    if coded is None:
        raise ValidationFailed(
            "diagnosis_unknown",
            _("Choose a diagnosis from the list of coded indications."),
            {"code": [_("Not a coded indication.")]},
        )
    changing = bool(patient.diagnosis_code) and patient.diagnosis_code != coded
    if changing and not reason.strip():
        raise ValidationFailed(
            "reason_required",
            _("Say why the recorded diagnosis changes."),
            {"reason": [_("Required when a diagnosis is corrected.")]},
        )
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        before = {"code": patient.diagnosis_code, "source": patient.diagnosis_source}
        patient.diagnosis_code = coded
        patient.diagnosis_text = (text.strip() or patient.diagnosis_text)[:300]
        patient.diagnosis_source = Patient.DiagnosisSource.PHYSICIAN
        patient.save(
            update_fields=["diagnosis_code", "diagnosis_text", "diagnosis_source", "updated_at"]
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="patient.diagnosis_set",
            subject=patient,
            changes={"before": before, "after": {"code": coded, "text": patient.diagnosis_text}},
            reason=reason.strip(),
        )
    return patient


# --- visa and guarantor ----------------------------------------------------------------------


def guarantor_record(
    *,
    actor: User,
    patient: Patient,
    name: str,
    registration_number: str,
    registered_with: str = "METI / Japan Tourism Agency",
    contact: str = "",
) -> GuarantorRecord:
    """Record the registered guarantor organisation that backs the medical-stay visa."""
    require(perms.can_manage_travel, actor, patient)
    if not registration_number.strip():
        raise ValidationFailed(
            "registration_number_required",
            _("The guarantor's registration number is required."),
            {"registration_number": [_("This is required.")]},
        )
    with transaction.atomic():
        rec = GuarantorRecord.objects.create(
            organisation=patient.organisation,
            patient=patient,
            name=name,
            registration_number=registration_number.strip(),
            registered_with=registered_with,
            contact=contact,
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="guarantor.record",
            subject=rec,
            changes={"name": name, "registration_number": rec.registration_number},
        )
    return rec


def visa_checklist_ensure(*, actor: User, patient: Patient) -> list[VisaDocument]:
    """Create the medical-stay visa checklist items that are missing for this patient."""
    require(perms.can_manage_travel, actor, patient)
    with transaction.atomic():
        have = set(patient.visa_documents.values_list("code", flat=True))
        new = [
            VisaDocument(organisation=patient.organisation, patient=patient, code=item.code)
            for item in rules.VISA_CHECKLIST
            if item.code not in have
        ]
        for doc in new:
            doc.save()
        if new:
            audit_record(
                actor=actor,
                organisation=patient.organisation,
                action="visa_checklist.create",
                subject=patient,
                changes={"items": [d.code for d in new]},
            )
    return list(patient.visa_documents.all())


def visa_document_update(
    *,
    actor: User,
    document: VisaDocument,
    status: str,
    sent_to: str = "",
    sent_at: dt.datetime | None = None,
    note: str = "",
) -> VisaDocument:
    """Mark a checklist item ready or sent, keeping what was sent to whom and when."""
    require(perms.can_manage_travel, actor, document)
    if status not in VisaDocument.Status.values:
        raise ValidationFailed("invalid_status", _("Unknown status."), {"status": [status]})
    if status == VisaDocument.Status.SENT and not sent_to.strip():
        raise ValidationFailed(
            "sent_to_required",
            _("Say to whom the document was sent."),
            {"sent_to": [_("This is required.")]},
        )
    with transaction.atomic():
        document.status = status
        if status == VisaDocument.Status.SENT:
            document.sent_to = sent_to.strip()
            document.sent_at = sent_at or timezone.now()
        if note:
            document.note = note
        document.save()
        audit_record(
            actor=actor,
            organisation=document.organisation,
            action="visa_document.update",
            subject=document,
            changes={"code": document.code, "status": status, "sent_to": document.sent_to},
        )
    return document


# --- portal magic links ----------------------------------------------------------------------


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def portal_contact_email(patient: Patient) -> str:
    """The registered contact: the main legal proxy if there is one, else the patient."""
    proxy = (
        patient.proxies.filter(is_primary_contact=True, voided_at__isnull=True)
        .exclude(email="")
        .first()
    )
    return proxy.email if proxy else patient.email


def portal_link_issue(
    *, actor: User, patient: Patient, send: bool = True
) -> tuple[PortalAccess, str]:
    """Create a one-time link to the portal and e-mail it to the registered contact only.

    The new link ends every older one of the patient, unused or already opened: a link
    forwarded or sent to a contact who is no longer registered stops working, and so does a
    portal session opened with it.
    """
    require(perms.can_issue_portal_link, actor, patient)
    email = portal_contact_email(patient)
    if not email:
        raise ValidationFailed(
            "no_contact_email",
            _("The patient has no registered e-mail address to send the link to."),
        )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()
        now = timezone.now()
        ended = list(
            PortalAccess.objects.filter(patient=patient, revoked_at__isnull=True).values_list(
                "external_id", flat=True
            )
        )
        PortalAccess.objects.filter(patient=patient, revoked_at__isnull=True).update(revoked_at=now)
        access = PortalAccess.objects.create(
            organisation=patient.organisation,
            patient=patient,
            email=email,
            token_hash=_hash(token),
            expires_at=timezone.now() + dt.timedelta(hours=rules.portal_link_hours()),
            created_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="portal_link.issue",
            subject=access,
            changes={
                "patient": patient.patient_code,
                "email": email,
                "ends": [str(x) for x in ended],
            },
        )
        if send:
            url = f"{settings.SAISEI_BASE_URL.rstrip('/')}/journey/portal/enter/{token}/"
            transaction.on_commit(lambda: _send_portal_link(patient, email, url))
    return access, token


def _send_portal_link(patient: Patient, email: str, url: str) -> None:
    with translation.override(patient.language):
        subject = gettext("Your link to the patient portal")
        body = gettext(
            "Open this link to see the treatment plan, itinerary, quote and signed documents for "
            "%(patient)s:\n\n%(url)s\n\nThe link works once and expires in %(hours)s hours. If you "
            "did not expect this message, please ignore it.\n"
        ) % {"patient": patient.display_name, "url": url, "hours": rules.portal_link_hours()}
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=True)


def portal_link_redeem(*, token: str, client_ip: str | None = None) -> PortalAccess:
    """Use a magic link once; an unknown, used, revoked or expired link opens nothing."""
    access = (
        PortalAccess.objects.select_related("patient", "organisation")
        .filter(token_hash=_hash(token or ""))
        .first()
    )
    now = timezone.now()
    if access is None or access.revoked_at is not None:
        raise ValidationFailed("portal_link_invalid", _("This link is not valid."))
    if access.used_at is not None:
        raise ValidationFailed(
            "portal_link_used",
            _("This link has already been used. Ask your coordinator for a new one."),
        )
    if access.expires_at <= now:
        raise ValidationFailed(
            "portal_link_expired", _("This link has expired. Ask your coordinator for a new one.")
        )
    with transaction.atomic():
        updated = PortalAccess.objects.filter(pk=access.pk, used_at__isnull=True).update(
            used_at=now
        )
        if not updated:
            raise ValidationFailed(
                "portal_link_used",
                _("This link has already been used. Ask your coordinator for a new one."),
            )
        access.used_at = now
        audit_record(
            actor=None,
            organisation=access.organisation,
            action="portal_link.redeem",
            subject=access,
            changes={"patient": access.patient.patient_code, "ip": client_ip},
        )
    return access
