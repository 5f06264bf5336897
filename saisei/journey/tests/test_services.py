"""Journey services, one scenario per rule a coordinator, family or regulator relies on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from saisei.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from saisei.core.models import AuditEntry
from saisei.journey import services
from saisei.journey.models import CourseStep, Inquiry, Quote
from saisei.journey.selectors import consent_status_for_gate
from saisei.journey.tests.conftest import ELIGIBLE_ANSWERS, PASSWORD

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def old_token(seconds: int = 60) -> str:
    """A fresh form token as if the form had been shown `seconds` ago (each one usable once)."""
    return services.inquiry_token(issued_at=timezone.now() - dt.timedelta(seconds=seconds))


INQUIRY = {
    "contact_name": "Wei Chen",
    "contact_email": "wei@example.test",
    "contact_relationship": "daughter",
    "patient_family_name": "Chen",
    "patient_given_name": "Li",
    "country": "Singapore",
    "diagnosis": "Alzheimer's disease",
    "diagnosis_when": "2024",
    "cognitive_scores": "MMSE 22 (May 2026)",
    "travel_windows": "March to June",
}


def submit(org: Any, **kw: Any) -> Inquiry:
    args: dict[str, Any] = {
        "organisation": org,
        "data": INQUIRY,
        "files": [],
        "privacy_consent": True,
        "form_token": old_token(),
        "language": "en",
    }
    args.update(kw)
    return services.inquiry_submit(**args)


# --- inquiry -------------------------------------------------------------------------------


def test_inquiry_gets_reference_consent_record_and_confirmation_mail(
    org: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        inquiry = submit(
            org, language="zh-hans", files=[SimpleUploadedFile("mri.pdf", PDF, "application/pdf")]
        )
    assert inquiry.reference.startswith("INQ-")
    assert inquiry.status == "new"
    assert inquiry.privacy_notice_version == "appi-2026-1"
    assert inquiry.privacy_notice_text  # the exact wording agreed to is kept
    assert inquiry.files.get().sha256
    assert len(mail.outbox) == 1 and inquiry.reference in mail.outbox[0].subject
    assert AuditEntry.objects.filter(action="inquiry.submit").count() == 1


def test_inquiry_needs_privacy_consent(org: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        submit(org, privacy_consent=False)
    assert exc.value.code == "privacy_consent_required"
    assert not Inquiry.objects.exists()


@pytest.mark.parametrize(
    ("upload", "needle"),
    [
        (
            SimpleUploadedFile("scan.exe", b"MZ\x90\x00", "application/octet-stream"),
            "not a file type",
        ),
        (SimpleUploadedFile("letter.pdf", b"<html>not a pdf</html>", "application/pdf"), "damaged"),
        (SimpleUploadedFile("empty.png", b"", "image/png"), "empty"),
    ],
)
def test_bad_upload_refuses_whole_inquiry_with_clear_message(
    org: Any, upload: Any, needle: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        submit(org, files=[upload])
    assert exc.value.code == "upload_rejected"
    assert needle in " ".join(exc.value.fields["files"])
    assert not Inquiry.objects.exists()


def test_too_big_upload_is_refused(org: Any, settings: Any) -> None:
    settings.JOURNEY_UPLOAD_MAX_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (1024 * 1024), "application/pdf")
    with pytest.raises(ValidationFailed) as exc:
        submit(org, files=[big])
    assert "too big" in exc.value.fields["files"][0]


def test_honeypot_and_instant_submission_are_refused(org: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        submit(org, honeypot="http://spam.example")
    assert exc.value.code == "inquiry_rejected"
    with pytest.raises(ValidationFailed) as exc:
        submit(org, form_token=services.inquiry_token())
    assert exc.value.code == "form_too_fast"
    with pytest.raises(ValidationFailed) as exc:
        submit(org, form_token="forged:token")
    assert exc.value.code == "inquiry_rejected"


def test_inquiry_queue_transitions(org: Any, coordinator: Any) -> None:
    inquiry = submit(org)
    services.inquiry_status_change(actor=coordinator, inquiry=inquiry, status="in_review")
    assert inquiry.assigned_to == coordinator
    with pytest.raises(Conflict):
        services.inquiry_status_change(actor=coordinator, inquiry=inquiry, status="enrolled")


def test_other_org_cannot_touch_inquiry(org: Any, other_org: Any, make_user: Any) -> None:
    inquiry = submit(org)
    with pytest.raises(NotFound):
        services.inquiry_status_change(
            actor=make_user("coordinator", other_org), inquiry=inquiry, status="in_review"
        )


def test_reviewer_cannot_change_inquiry(org: Any, make_user: Any) -> None:
    inquiry = submit(org)
    with pytest.raises(Forbidden):
        services.inquiry_status_change(
            actor=make_user("committee_reviewer", org), inquiry=inquiry, status="in_review"
        )


# --- enrolment and prescreen -----------------------------------------------------------------


def test_enrol_from_inquiry_with_proxy(org: Any, coordinator: Any) -> None:
    inquiry = submit(org)
    patient = services.patient_enrol(
        actor=coordinator,
        family_name="Chen",
        given_name="Li",
        date_of_birth=dt.date(1952, 1, 2),
        sex="female",
        language="zh-hans",
        inquiry=inquiry,
        proxy={"name": "Wei Chen", "relationship": "daughter", "email": "wei@example.test"},
        email="li@example.test",
        weight_kg=Decimal("55.0"),
    )
    assert patient.patient_code.startswith("P")
    assert patient.proxies.get().name == "Wei Chen"
    inquiry.refresh_from_db()
    assert inquiry.status == "prescreening"
    # The reported diagnosis is coded at enrolment (ICD-10 G30), and says where it came from.
    assert patient.diagnosis_code == "alzheimers_disease"
    assert patient.diagnosis_source == "inquiry"
    assert patient.diagnosis_text == "Alzheimer's disease"


@pytest.mark.parametrize(
    ("reported", "code"),
    [
        ("アルツハイマー型認知症", "alzheimers_disease"),
        ("阿尔茨海默病", "alzheimers_disease"),
        ("Mild cognitive impairment", ""),  # no aetiology: a physician must code it
        ("Alzheimer's or Parkinson's, not sure", ""),  # two diseases: never guessed
    ],
)
def test_enrolment_codes_the_reported_diagnosis_only_when_it_names_one_disease(
    org: Any, coordinator: Any, reported: str, code: str
) -> None:
    inquiry = submit(org, data={**INQUIRY, "diagnosis": reported})
    patient = services.patient_enrol(
        actor=coordinator,
        family_name="Chen",
        given_name="Li",
        date_of_birth=dt.date(1952, 1, 2),
        sex="female",
        language="zh-hans",
        inquiry=inquiry,
    )
    assert patient.diagnosis_code == code
    assert patient.diagnosis_text == reported


def test_whoever_enrols_cannot_type_in_a_coded_diagnosis(org: Any, coordinator: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.patient_enrol(
            actor=coordinator,
            family_name="Chen",
            given_name="Li",
            date_of_birth=dt.date(1952, 1, 2),
            sex="female",
            language="en",
            diagnosis_code="alzheimers_disease",
        )
    assert exc.value.code == "unknown_fields"


@pytest.mark.parametrize("role", ["coordinator", "nurse", "org_admin", "compliance_officer"])
def test_only_a_physician_sets_the_coded_diagnosis(
    org: Any, make_user: Any, patient: Any, role: str
) -> None:
    with pytest.raises((Forbidden, NotFound)):
        services.patient_diagnosis_set(
            actor=make_user(role, org), patient=patient, code="G20", reason="x"
        )


def test_a_physician_corrects_the_diagnosis_with_a_reason_in_the_ledger(
    patient: Any, physician: Any
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.patient_diagnosis_set(actor=physician, patient=patient, code="G20")
    assert exc.value.code == "reason_required"
    services.patient_diagnosis_set(
        actor=physician, patient=patient, code="G20", text="PD, H&Y 2", reason="referral letter"
    )
    patient.refresh_from_db()
    assert (patient.diagnosis_code, patient.diagnosis_source) == ("parkinsons_disease", "physician")
    entry = AuditEntry.objects.filter(action="patient.diagnosis_set").get()
    assert entry.reason == "referral letter"
    assert entry.changes["before"]["code"] == "alzheimers_disease"
    with pytest.raises(ValidationFailed) as exc:
        services.patient_diagnosis_set(actor=physician, patient=patient, code="gout", reason="x")
    assert exc.value.code == "diagnosis_unknown"


def test_prescreen_gives_reasons_and_physician_signs(
    patient: Any, plan: Any, package: Any, coordinator: Any, physician: Any
) -> None:
    answers = {
        **ELIGIBLE_ANSWERS,
        "contraindications": {**ELIGIBLE_ANSWERS["contraindications"], "active_malignancy": True},
    }
    ps = services.prescreen_record(actor=coordinator, patient=patient, plan=plan, answers=answers)
    assert ps.outcome == "not_eligible"
    assert any(r["severity"] == "exclude" for r in ps.reasons)
    assert ps.staging_scheme  # the staging scheme is named
    with pytest.raises(Forbidden):
        services.prescreen_decide(
            actor=coordinator, prescreen_obj=ps, decision="eligible", note="x", password=PASSWORD
        )
    with pytest.raises(ValidationFailed) as exc:
        services.prescreen_decide(
            actor=physician, prescreen_obj=ps, decision="not_eligible", note="", password="wrong"
        )
    assert exc.value.code == "signature_password_invalid"
    services.prescreen_decide(
        actor=physician, prescreen_obj=ps, decision="not_eligible", note="", password=PASSWORD
    )
    assert ps.signature["user"] == physician.username


# --- quotes ----------------------------------------------------------------------------------


def make_quote(coordinator: Any, patient: Any, plan: Any, price_list: Any, **kw: Any) -> Quote:
    args = {
        "actor": coordinator,
        "patient": patient,
        "plan": plan,
        "price_list": price_list,
        "infusions": 4,
        "follow_ups": 3,
        "interpreter_days": 6,
        "commission": Decimal("0.10"),
        "fx_jpy_per_unit": Decimal("150.25"),
        "fx_date": timezone.localdate(),
        "fx_source": "MUFG TTM",
    }
    args.update(kw)
    return services.quote_create(**args)


def test_quote_always_has_commission_line_and_refund_rules(
    coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    quote = make_quote(coordinator, patient, plan, price_list, commission=0)
    commission = quote.lines.get(kind="commission")
    assert commission.amount_jpy == 0  # shown even when zero
    stages = [s["stage"] for s in quote.refund_schedule]
    assert stages[:3] == ["before_tests", "after_tests", "after_culture_ordered"]
    assert stages[3:] == [f"after_infusion_{n}" for n in range(1, 5)]
    first = quote.refund_schedule[0]
    # Guarantor work is done before travel, so only its fee (with tax) is kept before the tests.
    assert first["kept_jpy"] == 110_000
    assert first["refundable_jpy"] == quote.total_jpy - 110_000
    refunds = [s["refundable_jpy"] for s in quote.refund_schedule]
    assert refunds == sorted(refunds, reverse=True)
    assert quote.lines.filter(kind="infusion").count() == 4
    assert {
        "consultation",
        "tests",
        "harvest",
        "culture",
        "follow_up",
        "interpreter",
        "guarantor",
    } <= set(quote.lines.values_list("kind", flat=True))


def test_quote_conversion_states_rate_and_date(
    coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    quote = make_quote(coordinator, patient, plan, price_list)
    assert quote.fx_rate == Decimal("150.25") and quote.fx_rate_date == timezone.localdate()
    assert quote.converted_amount == (Decimal(quote.total_jpy) / Decimal("150.25")).quantize(
        Decimal("0.01")
    )
    with pytest.raises(ValidationFailed):
        make_quote(coordinator, patient, plan, price_list, fx_date=None)


def test_no_quote_issued_when_plan_not_in_force(
    coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    quote = make_quote(coordinator, patient, plan, price_list)
    plan.status = "suspended"
    plan.save()
    with pytest.raises(Conflict) as exc:
        services.quote_issue(actor=coordinator, quote=quote)
    assert exc.value.code == "plan_not_in_force"
    quote.refresh_from_db()
    assert quote.status == "draft"


def test_no_quote_issued_before_version_comes_into_force(
    coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    quote = make_quote(coordinator, patient, plan, price_list)
    plan.versions.update(in_force_from=timezone.localdate() + dt.timedelta(days=5))
    with pytest.raises(Conflict):
        services.quote_issue(actor=coordinator, quote=quote)


def test_issue_freezes_disclosures_and_new_version_supersedes(
    coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    q1 = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    assert q1.disclosures["plan_number"] == "PB3260001"
    assert q1.disclosures["risk_class"] == 2
    assert q1.disclosures["facilities"][0]["number"] == "FC3260007"
    assert q1.disclosures["evidence"] and q1.disclosures["risks"]
    q2 = make_quote(coordinator, patient, plan, price_list, infusions=3, revises=q1)
    assert (q2.number, q2.version) == (q1.number, 2)
    services.quote_issue(actor=coordinator, quote=q2)
    q1.refresh_from_db()
    assert q1.status == "superseded"
    with pytest.raises(Conflict):
        services.quote_accept(quote=q1, accepted_by_name="Wei", agree=True, actor=coordinator)


def test_family_accepts_through_portal_only_their_quote(
    coordinator: Any, patient: Any, plan: Any, price_list: Any, org: Any
) -> None:
    from saisei.journey.tests.factories import PatientFactory

    quote = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    other = PatientFactory(organisation=org)
    access_other, _t = services.portal_link_issue(actor=coordinator, patient=other, send=False)
    with pytest.raises(Forbidden):
        services.quote_accept(
            quote=quote, accepted_by_name="X", agree=True, portal_access=access_other
        )
    access, _t = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    with pytest.raises(ValidationFailed):
        services.quote_accept(
            quote=quote, accepted_by_name="Wei Chen", agree=False, portal_access=access
        )
    services.quote_accept(
        quote=quote,
        accepted_by_name="Wei Chen",
        agree=True,
        portal_access=access,
        client_ip="203.0.113.5",
    )
    assert quote.status == "accepted" and quote.acceptance_evidence["via"] == "portal"


def test_expired_quote_cannot_be_accepted(
    coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    quote = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    Quote.objects.filter(pk=quote.pk).update(
        valid_until=timezone.localdate() - dt.timedelta(days=1)
    )
    quote.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        services.quote_accept(quote=quote, accepted_by_name="Wei", agree=True, actor=coordinator)
    assert exc.value.code == "quote_expired"


# --- consent ---------------------------------------------------------------------------------


def test_consent_by_proxy_with_signature_and_withdrawal_stops_course(
    patient: Any,
    plan_version: Any,
    consent_doc: Any,
    physician: Any,
    coordinator: Any,
    package: Any,
    eligible: Any,
) -> None:
    from saisei.journey.models import LegalProxy

    proxy = LegalProxy.objects.create(
        organisation=patient.organisation, patient=patient, name="Wei Chen", relationship="daughter"
    )
    with pytest.raises(ValidationFailed) as exc:
        services.consent_give(
            actor=physician,
            patient=patient,
            document=consent_doc,
            given_by="proxy",
            signer_name="Wei Chen",
            signer_confirms=True,
            password=PASSWORD,
        )
    assert exc.value.code == "proxy_required"
    consent = services.consent_give(
        actor=physician,
        patient=patient,
        document=consent_doc,
        given_by="proxy",
        proxy=proxy,
        signer_name="Wei Chen",
        signer_confirms=True,
        password=PASSWORD,
    )
    assert consent.signature_evidence["physician_signature"]["user"] == physician.username
    assert len(consent.signature_evidence["document_sha256"]) == 64
    assert (
        consent_status_for_gate(
            patient_id=patient.pk, plan_version_id=plan_version.pk, at=timezone.now()
        )
        == "valid"
    )
    course = services.course_instantiate(
        actor=coordinator,
        patient=patient,
        package=package,
        harvest_date=timezone.localdate() + dt.timedelta(days=20),
    )
    services.consent_withdraw(
        actor=coordinator, consent=consent, reason="Family changed their mind"
    )
    course.refresh_from_db()
    assert course.status == "stopped"
    assert not course.steps.exclude(status="cancelled").exists()
    assert course.steps.count() == 3 + 4 + 3  # records kept
    assert (
        consent_status_for_gate(
            patient_id=patient.pk, plan_version_id=plan_version.pk, at=timezone.now()
        )
        == "withdrawn"
    )


def test_only_physician_takes_consent(patient: Any, consent_doc: Any, coordinator: Any) -> None:
    with pytest.raises(Forbidden):
        services.consent_give(
            actor=coordinator,
            patient=patient,
            document=consent_doc,
            given_by="patient",
            signer_name="A",
            signer_confirms=True,
            password=PASSWORD,
        )


# --- course ----------------------------------------------------------------------------------


def test_course_needs_eligible_decision(patient: Any, package: Any, coordinator: Any) -> None:
    with pytest.raises(Conflict) as exc:
        services.course_instantiate(
            actor=coordinator, patient=patient, package=package, harvest_date=timezone.localdate()
        )
    assert exc.value.code == "not_prescreened_eligible"


def test_course_steps_from_package_and_gate_when_scheduled(
    doctor: Any,
    facility: Any,
    patient: Any,
    package: Any,
    coordinator: Any,
    physician: Any,
    eligible: Any,
    consent_doc: Any,
) -> None:
    harvest = timezone.localdate() + dt.timedelta(days=20)
    course = services.course_instantiate(
        actor=coordinator,
        patient=patient,
        package=package,
        harvest_date=harvest,
        physician=doctor,
        facility=facility,
    )
    steps = list(course.steps.order_by("planned_date", "kind"))
    kinds = [(s.kind, s.number) for s in steps]
    assert ("harvest", 1) in kinds and ("culture", 1) in kinds
    infusions = [s for s in steps if s.kind == "infusion"]
    assert [s.number for s in infusions] == [1, 2, 3, 4]
    assert (infusions[1].planned_date - infusions[0].planned_date).days == 28
    assert infusions[0].planned_date > harvest + dt.timedelta(days=35)
    # Without consent the gate blocks harvest and infusions.
    services.course_schedule(actor=coordinator, course=course)
    course.refresh_from_db()
    assert course.status == "planned"
    assert course.steps.filter(kind="harvest", status="blocked").exists()
    services.consent_give(
        actor=physician,
        patient=patient,
        document=consent_doc,
        given_by="patient",
        signer_name="Ming Lee",
        signer_confirms=True,
        password=PASSWORD,
    )
    services.course_schedule(actor=coordinator, course=course)
    course.refresh_from_db()
    blocked = course.steps.filter(status="blocked")
    assert course.status == "scheduled", [s.gate_result for s in blocked]
    assert not course.steps.filter(status=CourseStep.Status.PLANNED).exists()


# --- itinerary -------------------------------------------------------------------------------


def test_replan_records_what_changed(patient: Any, coordinator: Any) -> None:
    start = dt.date(2027, 3, 1)
    data = {
        "earliest_arrival": start.isoformat(),
        "latest_return": "2027-09-30",
        "culture_days": 35,
        "infusions": 2,
        "interval_days": 28,
        "max_stay_days": 90,
    }
    first = services.itinerary_plan(actor=coordinator, patient=patient, request_data=data)
    assert first.version == 1 and first.plan["trips"] and first.explanations
    second = services.itinerary_plan(
        actor=coordinator, patient=patient, request_data={**data, "culture_days": 49}
    )
    first.refresh_from_db()
    assert second.version == 2 and second.is_current and not first.is_current
    assert second.changes, "a forecast that slips two weeks must show what moved"


def test_infeasible_itinerary_names_constraint(patient: Any, coordinator: Any) -> None:
    data = {
        "earliest_arrival": "2027-03-01",
        "latest_return": "2027-03-20",
        "culture_days": 35,
        "infusions": 2,
        "interval_days": 28,
        "max_stay_days": 90,
    }
    with pytest.raises(DomainError) as exc:
        services.itinerary_plan(actor=coordinator, patient=patient, request_data=data)
    assert exc.value.fields


# --- portal and visa -------------------------------------------------------------------------


def test_portal_link_is_hashed_single_use_and_mailed(
    patient: Any, coordinator: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        access, token = services.portal_link_issue(actor=coordinator, patient=patient)
    assert access.token_hash != token and token not in access.token_hash
    assert token in mail.outbox[-1].body and mail.outbox[-1].to == [patient.email]
    services.portal_link_redeem(token=token)
    with pytest.raises(ValidationFailed) as exc:
        services.portal_link_redeem(token=token)
    assert exc.value.code == "portal_link_used"


def test_expired_portal_link_opens_nothing(patient: Any, coordinator: Any) -> None:
    access, token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    access.expires_at = timezone.now() - dt.timedelta(minutes=1)
    access.save()
    with pytest.raises(ValidationFailed) as exc:
        services.portal_link_redeem(token=token)
    assert exc.value.code == "portal_link_expired"


def test_visa_checklist_keeps_what_was_sent_when(patient: Any, coordinator: Any) -> None:
    items = services.visa_checklist_ensure(actor=coordinator, patient=patient)
    assert {"passport", "guarantee_letter", "treatment_certificate", "financial_proof"} <= {
        i.code for i in items
    }
    assert len(services.visa_checklist_ensure(actor=coordinator, patient=patient)) == len(items)
    doc = items[0]
    with pytest.raises(ValidationFailed):
        services.visa_document_update(actor=coordinator, document=doc, status="sent")
    services.visa_document_update(
        actor=coordinator, document=doc, status="sent", sent_to="Embassy of Japan, Singapore"
    )
    assert doc.sent_at is not None
    g = services.guarantor_record(
        actor=coordinator, patient=patient, name="Japan Medical Bridge", registration_number="A-123"
    )
    assert g.registration_number == "A-123"


def _scheduled_course(
    coordinator: Any, physician: Any, patient: Any, package: Any, doctor: Any, facility: Any, doc
) -> Any:
    services.consent_give(
        actor=physician,
        patient=patient,
        document=doc,
        given_by="patient",
        signer_name="Ming Lee",
        signer_confirms=True,
        password=PASSWORD,
    )
    course = services.course_instantiate(
        actor=coordinator,
        patient=patient,
        package=package,
        harvest_date=timezone.localdate() + dt.timedelta(days=10),
        physician=doctor,
        facility=facility,
    )
    services.course_schedule(actor=coordinator, course=course)
    course.refresh_from_db()
    assert course.status == "scheduled", [s.gate_result for s in course.steps.all()]
    return course


@pytest.mark.parametrize("kind", ["harvest", "infusion"])
@pytest.mark.parametrize("role", ["physician", "coordinator"])
def test_a_gated_step_is_never_marked_done_without_its_record(
    doctor: Any,
    facility: Any,
    patient: Any,
    package: Any,
    coordinator: Any,
    physician: Any,
    eligible: Any,
    consent_doc: Any,
    kind: str,
    role: str,
) -> None:
    """A harvest closes with its donation, an infusion with its administration; nothing else."""
    course = _scheduled_course(
        coordinator, physician, patient, package, doctor, facility, consent_doc
    )
    step = course.steps.filter(kind=kind).order_by("number").first()
    actor = physician if role == "physician" else coordinator
    with pytest.raises(Conflict) as exc:
        services.course_step_complete(actor=actor, step=step, at=timezone.now())
    assert exc.value.code == "step_needs_record"
    step.refresh_from_db()
    assert step.status == "scheduled"
    consultation = course.steps.get(kind="consultation")
    assert services.course_step_complete(actor=actor, step=consultation).status == "done"


def test_an_administration_closes_only_an_infusion_step(
    doctor: Any,
    facility: Any,
    patient: Any,
    package: Any,
    coordinator: Any,
    physician: Any,
    eligible: Any,
    consent_doc: Any,
) -> None:
    course = _scheduled_course(
        coordinator, physician, patient, package, doctor, facility, consent_doc
    )
    with pytest.raises(Conflict) as exc:
        services.course_step_record_administration(
            actor=physician,
            step=course.steps.get(kind="harvest"),
            administration_ref="x",
            at=timezone.now(),
        )
    assert exc.value.code == "step_not_infusion"


def test_scheduling_refuses_what_the_gate_refuses_and_withdrawal_stops_everything(
    doctor: Any,
    facility: Any,
    patient: Any,
    package: Any,
    coordinator: Any,
    physician: Any,
    eligible: Any,
    consent_doc: Any,
) -> None:
    course = _scheduled_course(
        coordinator, physician, patient, package, doctor, facility, consent_doc
    )
    # The plan is suspended before the harvest day: scheduling again blocks every gated step.
    course.plan.status = "suspended"
    course.plan.save()
    course.plan.versions.update(state="suspended")
    course.status = "planned"
    course.save()
    course.steps.filter(kind__in=["harvest", "infusion"]).update(status="planned")
    services.course_schedule(actor=coordinator, course=course)
    harvest = course.steps.get(kind="harvest")
    assert harvest.status == "blocked"
    assert "GATE-PLAN-SUSPENDED" in [f["rule"] for f in harvest.gate_result["findings"]]
    consent = patient.consents.get()
    services.consent_withdraw(actor=coordinator, consent=consent, reason="changed mind")
    with pytest.raises(Conflict) as exc:
        services.course_schedule(actor=coordinator, course=course)
    assert exc.value.code == "consent_withdrawn"


def test_paper_consent_cannot_be_dated_in_future(
    patient: Any, consent_doc: Any, physician: Any
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.consent_give(
            actor=physician,
            patient=patient,
            document=consent_doc,
            given_by="patient",
            signer_name="Ming Lee",
            signer_confirms=True,
            password=PASSWORD,
            paper_signed_at=timezone.now() + dt.timedelta(days=1),
        )
    assert exc.value.code == "signed_in_future"


def test_forecast_slip_replans_only_what_is_not_done(patient: Any, coordinator: Any) -> None:
    data = {
        "earliest_arrival": "2027-03-01",
        "latest_return": "2027-10-31",
        "culture_days": 35,
        "infusions": 2,
        "interval_days": 28,
        "max_stay_days": 90,
    }
    first = services.itinerary_plan(actor=coordinator, patient=patient, request_data=data)
    visits = {
        (v["kind"], v["sequence"]): v["date"] for t in first.plan["trips"] for v in t["visits"]
    }
    harvest = dt.date.fromisoformat(visits[("harvest", 1)])
    slipped = harvest + dt.timedelta(days=49)  # the forecast slips by two weeks
    second = services.itinerary_replan(
        actor=coordinator, patient=patient, through=harvest, culture_ready_by=slipped
    )
    new_visits = {
        (v["kind"], v["sequence"]): v["date"] for t in second.plan["trips"] for v in t["visits"]
    } | {(v["kind"], v["sequence"]): v["date"] for v in second.plan.get("past_visits", [])}
    assert new_visits[("harvest", 1)] == visits[("harvest", 1)]
    assert dt.date.fromisoformat(new_visits[("infusion", 1)]) > slipped
    assert second.changes and second.version == 2
