"""Demo data for the patient journey: inquiries in several statuses, and one patient who went
the whole way on the in-force Alzheimer plan (pre-screened eligible, accepted quote, signed
consent, scheduled course, itinerary). Shared as ``ctx.extra["patient"]`` and ``["course"]``.

Idempotent: every object is looked up by a natural key before it is created, through services.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from saisei.core.demo import DEMO_PASSWORD, DemoContext
from saisei.core.models import Role
from saisei.core.timezones import TOKYO

from . import services
from .lifecycles import inquiry_coordinator_targets
from .models import (
    ConsentDocument,
    Inquiry,
    Patient,
    Prescreen,
    PriceList,
    Quote,
    TreatmentCourse,
    TreatmentPackage,
)

# Same person the processing demo harvests from (its PATIENTS["main"]), so the stories meet.
MAIN: dict[str, Any] = {
    "family_name": "Lin",
    "given_name": "Mei",
    "date_of_birth": dt.date(1952, 6, 14),
    "sex": "female",
    "language": "zh-hans",
    "weight_kg": Decimal("58"),
}
HARVEST_DAYS_AGO = 40

INQUIRIES = [
    # (key e-mail, language, status, patient, country, diagnosis, scores)
    (
        "wei.lin@example.invalid",
        "zh-hans",
        "enrolled",
        "Lin Mei",
        "Singapore",
        "Alzheimer's disease (amyloid PET positive)",
        "MMSE 22 (2026-05)",
    ),
    (
        "s.ito@example.invalid",
        "ja",
        "new",
        "伊藤 進",
        "Japan",
        "アルツハイマー型認知症",
        "HDS-R 20",
    ),
    (
        "anna.k@example.invalid",
        "en",
        "in_review",
        "Boris Kowalski",
        "Poland",
        "Mild cognitive impairment",
        "MoCA 23",
    ),
    ("m.chen@example.invalid", "zh-hans", "info_requested", "陈明", "China", "阿尔茨海默病", ""),
    (
        "j.smith@example.invalid",
        "en",
        "declined",
        "John Smith",
        "Australia",
        "Frontotemporal dementia",
        "MMSE 14",
    ),
]
TRANSITIONS = {
    "in_review": ["in_review"],
    "info_requested": ["in_review", "info_requested"],
    "declined": ["in_review", "declined"],
}


def _at(ctx: DemoContext, days_ago: int, hour: int = 10) -> dt.datetime:
    moment = dt.datetime.combine(ctx.today - dt.timedelta(days=days_ago), dt.time(hour), TOKYO)
    return min(moment, timezone.now() - dt.timedelta(minutes=5))


def _inquiries(ctx: DemoContext) -> dict[str, Inquiry]:
    coordinator = ctx.user(Role.COORDINATOR)
    out = {}
    for email, lang, status, name, country, diagnosis, scores in INQUIRIES:
        inquiry = Inquiry.objects.filter(organisation=ctx.org, contact_email=email).first()
        if inquiry is None:
            inquiry = services.inquiry_submit(
                organisation=ctx.org,
                data={
                    "contact_name": f"Family of {name}",
                    "contact_email": email,
                    "contact_relationship": "child",
                    "patient_name": name,
                    "country": country,
                    "diagnosis": diagnosis,
                    "diagnosis_when": "2025",
                    "cognitive_scores": scores,
                    "mobility": "independent",
                    "travel_windows": "spring or autumn",
                },
                files=[],
                privacy_consent=True,
                form_token=services.inquiry_token(
                    issued_at=timezone.now() - dt.timedelta(minutes=10)
                ),
                language=lang,
            )
            for step in TRANSITIONS.get(status, []):
                services.inquiry_status_change(actor=coordinator, inquiry=inquiry, status=step)
        out[email] = inquiry
    return out


def _package(ctx: DemoContext, plan: Any, coordinator: Any) -> TreatmentPackage:
    pkg = TreatmentPackage.objects.filter(plan=plan, code="ALZ-IV-4").first()
    if pkg:
        return pkg
    version = plan.versions.order_by("-number").first()
    dose = version.dose_min_cells or 100_000_000
    infusions = min(4, version.max_administrations or 4)
    return services.package_create(
        actor=coordinator,
        plan=plan,
        code="ALZ-IV-4",
        name="Adipose MSC, four intravenous infusions four weeks apart",
        infusions=infusions,
        interval_days=28,
        culture_days=35,
        dose_cells=dose,
        route=(version.routes or ["iv"])[0],
        follow_up_months=[3, 6, 12],
    )


def _price_list(ctx: DemoContext, plan: Any, coordinator: Any) -> PriceList:
    pl = PriceList.objects.filter(institution=plan.institution, name="Standard prices 2026").first()
    if pl:
        return pl
    return services.price_list_create(
        actor=coordinator,
        institution=plan.institution,
        name="Standard prices 2026",
        valid_from=ctx.today - dt.timedelta(days=120),
        valid_until=ctx.today + dt.timedelta(days=365),
        prices={
            "consultation": 33_000,
            "tests": 55_000,
            "harvest": 330_000,
            "culture_processing": 1_320_000,
            "infusion": 880_000,
            "follow_up": 22_000,
            "assessment": 33_000,
            "interpreter_per_day": 44_000,
            "guarantor_fee": 110_000,
        },
    )


CONSENT_TEXT = {
    "en": (
        "Explanation and consent: autologous adipose-derived stem cells for Alzheimer's disease",
        "This document explains the treatment, what it may and may not do, its risks, the "
        "alternatives, and your right to stop at any time without any disadvantage.\n\nThe "
        "treatment is provided under a provision plan filed under the Act on the Safety of "
        "Regenerative Medicine. It is not an approved medicine and has not been shown to slow "
        "Alzheimer's disease.",
    ),
    "ja": (
        "説明同意文書：アルツハイマー病に対する自己脂肪由来幹細胞治療",
        "この文書は、治療の内容、期待できること・できないこと、危険性、ほかの選択肢、"
        "そしていつでも不利益なく中止できることを説明するものです。\n\n本治療は再生医療等安全性確保法に"
        "基づき提出された提供計画のもとで行われます。承認された医薬品ではなく、アルツハイマー病の進行を"
        "遅らせることは示されていません。",
    ),
}


def _consent_docs(ctx: DemoContext, version: Any, physician: Any) -> dict[str, ConsentDocument]:
    docs = {}
    for lang, (title, body) in CONSENT_TEXT.items():
        doc = ConsentDocument.objects.filter(
            plan_version=version, language=lang, version="1.0"
        ).first()
        docs[lang] = doc or services.consent_document_create(
            actor=physician,
            plan_version=version,
            language=lang,
            version="1.0",
            title=title,
            body=body,
            effective_from=ctx.today - dt.timedelta(days=90),
        )
    return docs


def _main_patient(ctx: DemoContext, inquiry: Inquiry, coordinator: Any) -> Patient:
    patient = Patient.objects.filter(
        organisation=ctx.org,
        family_name=MAIN["family_name"],
        given_name=MAIN["given_name"],
        date_of_birth=MAIN["date_of_birth"],
    ).first()
    if patient is None:
        patient = services.patient_enrol(
            actor=coordinator,
            inquiry=inquiry,
            proxy={
                "name": "Wei Lin",
                "relationship": "daughter",
                "authority": "lasting power of attorney",
                "email": "wei.lin@example.invalid",
            },
            email="wei.lin@example.invalid",
            country="Singapore",
            currency="SGD",
            home_physician_name="Dr. Tan, Memory Clinic Singapore",
            **MAIN,
        )
    elif not patient.proxies.exists():
        from .models import LegalProxy

        # Processing's demo may have created the record first; add the family contact.
        LegalProxy.objects.create(
            organisation=ctx.org,
            patient=patient,
            name="Wei Lin",
            relationship="daughter",
            authority="lasting power of attorney",
            email="wei.lin@example.invalid",
        )
    return patient


def load(ctx: DemoContext) -> None:
    plan = ctx.extra.get("plan_alz")
    coordinator = ctx.user(Role.COORDINATOR)
    physician = ctx.user(Role.PHYSICIAN)
    inquiries = _inquiries(ctx)
    if plan is None:
        ctx.stdout.write("journey: no Alzheimer plan from regulatory; inquiries only\n")
        return
    version = services.plan_version_in_force(plan=plan, day=ctx.today)
    if version is None:
        ctx.stdout.write("journey: the Alzheimer plan is not in force; inquiries only\n")
        return
    package = _package(ctx, plan, coordinator)
    price_list = _price_list(ctx, plan, coordinator)
    docs = _consent_docs(ctx, version, physician)
    patient = _main_patient(ctx, inquiries["wei.lin@example.invalid"], coordinator)

    if not Prescreen.objects.filter(patient=patient, plan=plan).exists():
        ps = services.prescreen_record(
            actor=coordinator,
            patient=patient,
            plan=plan,
            answers={
                "diagnosis_confirmed": True,
                "diagnosis_basis": "amyloid_pet",
                "scores": {"mmse": "22", "cdr_global": "1"},
                "can_consent": False,
                "legal_proxy": True,
                "contraindications": {
                    "active_malignancy": False,
                    "active_infection": False,
                    "anticoagulation_cannot_pause": False,
                    "pregnancy": False,
                    "severe_cardiopulmonary_disease": False,
                },
                "infection_tests": dict.fromkeys(
                    ("hbv", "hcv", "hiv", "syphilis", "htlv1"), "negative"
                ),
                "age": 74,
            },
        )
        services.prescreen_decide(
            actor=physician,
            prescreen_obj=ps,
            decision="eligible",
            note="Mild Alzheimer's disease confirmed by amyloid PET; daughter holds a lasting power of attorney.",
            password=DEMO_PASSWORD,
        )

    if patient.diagnosis_source != Patient.DiagnosisSource.PHYSICIAN:
        # The family reported it; the physician confirms the coded diagnosis the gate checks.
        services.patient_diagnosis_set(
            actor=physician,
            patient=patient,
            code="G30",
            text="Alzheimer's disease, amyloid PET positive; MMSE 22, CDR 1 (mild dementia)",
            reason="Confirmed at the pre-screening review",
        )
        patient.refresh_from_db()

    if not Quote.objects.filter(patient=patient).exists():
        quote = services.quote_create(
            actor=coordinator,
            patient=patient,
            plan=plan,
            price_list=price_list,
            infusions=package.infusions,
            follow_ups=3,
            assessments=3,
            interpreter_days=6,
            commission=Decimal("0.08"),
            commission_payer="clinic",
            facilitator=ctx.facilitator,
            currency="SGD",
            fx_jpy_per_unit=Decimal("112.40"),
            fx_date=ctx.today - dt.timedelta(days=2),
            fx_source="MUFG Bank TTM",
            language="en",
        )
        services.quote_issue(actor=coordinator, quote=quote)
        services.quote_accept(
            quote=quote, accepted_by_name="Wei Lin", agree=True, actor=coordinator
        )

    if not patient.consents.exists():
        services.consent_give(
            actor=physician,
            patient=patient,
            document=docs["en"],
            given_by="proxy",
            proxy=patient.proxies.first(),
            signer_name="Wei Lin",
            signer_confirms=True,
            password=DEMO_PASSWORD,
            paper_signed_at=_at(ctx, HARVEST_DAYS_AGO + 2),
        )

    harvest = ctx.today - dt.timedelta(days=HARVEST_DAYS_AGO)
    if not patient.itineraries.exists():
        # Harvest is done (processing's demo grew the cells); plan the infusion trip around
        # holidays and the clinic calendar, then build the course from those dates.
        services.itinerary_plan(
            actor=coordinator,
            patient=patient,
            request_data={
                "earliest_arrival": (ctx.today + dt.timedelta(days=2)).isoformat(),
                "latest_return": (ctx.today + dt.timedelta(days=240)).isoformat(),
                "infusions": package.infusions,
                "interval_days": package.interval_days,
                "max_stay_days": 90,
                # The demo lot's culture ran longer than the package default; release is due
                # in two days, so the first infusion falls on this trip.
                "culture_days": HARVEST_DAYS_AGO + 2,
                "fixed_visits": [{"date": harvest.isoformat(), "kind": "harvest", "sequence": 1}],
            },
        )
    itinerary = patient.itineraries.filter(is_current=True).first()
    assert itinerary is not None

    course = TreatmentCourse.objects.filter(patient=patient, plan=plan).first()
    if course is None:
        from saisei.regulatory.models import Physician

        doctor = Physician.objects.filter(user=physician).first() or ctx.extra.get("physician")
        dates = {
            (v["kind"], v.get("sequence", 1)): dt.date.fromisoformat(v["date"])
            for trip in itinerary.plan.get("trips", [])
            for v in trip["visits"]
        }
        if itinerary.plan.get("release_date"):
            dates[("culture", 1)] = dt.date.fromisoformat(itinerary.plan["release_date"])
        course = services.course_instantiate(
            actor=coordinator,
            patient=patient,
            package=package,
            harvest_date=harvest,
            physician=doctor,
            facility=ctx.extra.get("facility"),
            visit_dates=dates,
        )
        itinerary.course = course
        itinerary.save(update_fields=["course", "updated_at"])
        services.course_schedule(actor=coordinator, course=course)
        # The harvest step closes when processing's demo records the harvest under the plan.
        for step in course.steps.filter(kind__in=["consultation", "culture"]).order_by(
            "planned_date"
        ):
            if step.status == "scheduled" and step.planned_date and step.planned_date <= ctx.today:
                services.course_step_complete(
                    actor=physician,
                    step=step,
                    at=dt.datetime.combine(step.planned_date, dt.time(10), TOKYO),
                )
        course.refresh_from_db()
        services.visa_checklist_ensure(actor=coordinator, patient=patient)
        services.guarantor_record(
            actor=coordinator,
            patient=patient,
            name="Bridge Medical Travel (Japan) K.K.",
            registration_number="METI-MC-0123",
            registered_with="METI",
        )

    main_inquiry = inquiries["wei.lin@example.invalid"]
    for status in ("in_review", "prescreening", "quoted", "enrolled"):
        main_inquiry.refresh_from_db()
        if status in inquiry_coordinator_targets(main_inquiry.status):
            services.inquiry_status_change(actor=coordinator, inquiry=main_inquiry, status=status)

    ctx.extra["patient"] = patient
    ctx.extra["course"] = course
    ctx.extra["consent_docs"] = docs
    ctx.extra["quote"] = patient.quotes.order_by("-version").first()
    ctx.extra["package_alz"] = package
    ctx.stdout.write(
        f"journey: {Inquiry.objects.filter(organisation=ctx.org).count()} inquiries, "
        f"patient {patient.patient_code} with course {course.get_status_display()}\n"
    )
