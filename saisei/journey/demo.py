"""Demo data for the patient journey: inquiries in several statuses, and one patient who went
the whole way on the in-force Alzheimer plan (pre-screened eligible, accepted quote, signed
consent, scheduled course, itinerary) and whose first infusion is due on the day the demo is
loaded. Shared as ``ctx.extra["patient"]`` and ``["course"]``.

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
MAIN_PRESCREEN: dict[str, Any] = {
    "diagnosis_confirmed": True,
    "diagnosis_basis": "amyloid_pet",
    "scores": {"mmse": "22", "cdr_global": "1"},
    "can_consent": False,
    "legal_proxy": True,
    "contraindications": dict.fromkeys(
        (
            "active_malignancy",
            "active_infection",
            "anticoagulation_cannot_pause",
            "pregnancy",
            "severe_cardiopulmonary_disease",
        ),
        False,
    ),
    "infection_tests": dict.fromkeys(("hbv", "hcv", "hiv", "syphilis", "htlv1"), "negative"),
    "age": 74,
}

INQUIRIES = [
    # (key e-mail, language, status, patient (family, given, native script, reading), country,
    #  diagnosis, scores)
    (
        "wei.lin@example.invalid",
        "zh-hans",
        "enrolled",
        ("Lin", "Mei", "林美", "Lín Měi"),
        "Singapore",
        "Alzheimer's disease (amyloid PET positive)",
        "MMSE 22 (2026-05)",
    ),
    (
        "s.ito@example.invalid",
        "ja",
        "new",
        ("Ito", "Susumu", "伊藤 進", "いとう すすむ"),
        "Japan",
        "アルツハイマー型認知症",
        "HDS-R 20",
    ),
    (
        "anna.k@example.invalid",
        "en",
        "in_review",
        ("Kowalski", "Boris", "", ""),
        "Poland",
        "Mild cognitive impairment",
        "MoCA 23",
    ),
    (
        "m.chen@example.invalid",
        "zh-hans",
        "info_requested",
        ("Chen", "Ming", "陈明", "Chén Míng"),
        "China",
        "阿尔茨海默病",
        "",
    ),
    (
        "j.smith@example.invalid",
        "en",
        "declined",
        ("Smith", "John", "", ""),
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
                    "contact_name": f"Family of {name[1]} {name[0]}",
                    "contact_email": email,
                    "contact_relationship": "child",
                    "patient_family_name": name[0],
                    "patient_given_name": name[1],
                    "patient_name_native": name[2],
                    "patient_name_reading": name[3],
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
    # The version in force, not the newest: the demo's plan also has a change under review
    # (adding intrathecal use) that must not reach a course until it is accepted.
    version = services.plan_version_in_force(plan=plan, day=ctx.today)
    assert version is not None, "the demo's Alzheimer plan is in force"
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
        route="iv",
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


def _prescreen_main(ctx: DemoContext, patient: Patient, plan: Any) -> None:
    """The coordinator records the pre-screen and the physician decides it, then confirms the
    coded diagnosis the compliance gate checks."""
    coordinator, physician = ctx.user(Role.COORDINATOR), ctx.user(Role.PHYSICIAN)
    if not Prescreen.objects.filter(patient=patient, plan=plan).exists():
        ps = services.prescreen_record(
            actor=coordinator, patient=patient, plan=plan, answers=MAIN_PRESCREEN
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


def _quote_main(
    ctx: DemoContext, patient: Patient, plan: Any, package: Any, price_list: Any
) -> None:
    """An itemised quote in the family's currency, issued and accepted."""
    coordinator = ctx.user(Role.COORDINATOR)
    if Quote.objects.filter(patient=patient).exists():
        return
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
    services.quote_accept(quote=quote, accepted_by_name="Wei Lin", agree=True, actor=coordinator)


def _consent_main(ctx: DemoContext, patient: Patient, docs: dict[str, ConsentDocument]) -> None:
    """The daughter, as legal proxy, signed the paper consent two days before the harvest."""
    if patient.consents.exists():
        return
    services.consent_give(
        actor=ctx.user(Role.PHYSICIAN),
        patient=patient,
        document=docs["en"],
        given_by="proxy",
        proxy=patient.proxies.first(),
        signer_name="Wei Lin",
        signer_confirms=True,
        password=DEMO_PASSWORD,
        paper_signed_at=_at(ctx, HARVEST_DAYS_AGO + 2),
    )


def _infusion_days(ctx: DemoContext, package: Any) -> list[dt.date]:
    """Infusion 1 on the day the demo loads (booked, even on a day the clinic is usually
    closed), each later one the package's interval after the one before, moved to the next day
    the clinic is open."""
    from .planning import clinic_calendar

    end = ctx.today + dt.timedelta(days=package.interval_days * package.infusions + 30)
    calendar = clinic_calendar(start=ctx.today, end=end)
    days = [ctx.today]
    for _ in range(1, package.infusions):
        day = days[-1] + dt.timedelta(days=package.interval_days)
        while calendar.blocker(day=day, kind="infusion") is not None:
            day += dt.timedelta(days=1)
        days.append(day)
    return days


def _itinerary_main(ctx: DemoContext, patient: Patient, package: Any) -> Any:
    """The trip around the infusions: the harvest is done, the first infusion is booked for the
    day the demo is loaded (the family arrived yesterday), the others follow the package."""
    coordinator = ctx.user(Role.COORDINATOR)
    harvest = ctx.today - dt.timedelta(days=HARVEST_DAYS_AGO)
    if not patient.itineraries.exists():
        infusions = [
            {"date": day.isoformat(), "kind": "infusion", "sequence": n}
            for n, day in enumerate(_infusion_days(ctx, package), start=1)
        ]
        services.itinerary_plan(
            actor=coordinator,
            patient=patient,
            request_data={
                "earliest_arrival": (ctx.today - dt.timedelta(days=1)).isoformat(),
                "latest_return": (ctx.today + dt.timedelta(days=240)).isoformat(),
                "infusions": package.infusions,
                "interval_days": package.interval_days,
                "max_stay_days": 90,
                "fixed_visits": [
                    {"date": harvest.isoformat(), "kind": "harvest", "sequence": 1},
                    *infusions,
                ],
            },
        )
    itinerary = patient.itineraries.filter(is_current=True).first()
    assert itinerary is not None
    return itinerary


def _course_main(ctx: DemoContext, patient: Patient, plan: Any, package: Any) -> TreatmentCourse:
    """The course built from the itinerary's dates and scheduled through the compliance gate.

    Only the consultation is closed here; the harvest step closes when processing records the
    harvest, the culture step when QA releases the lot, the infusion when it is given.
    """
    course = TreatmentCourse.objects.filter(patient=patient, plan=plan).first()
    if course is not None:
        return course
    from saisei.regulatory.models import Physician

    coordinator, physician = ctx.user(Role.COORDINATOR), ctx.user(Role.PHYSICIAN)
    itinerary = _itinerary_main(ctx, patient, package)
    doctor = Physician.objects.filter(user=physician).first() or ctx.extra.get("physician")
    dates = {
        (v["kind"], v.get("sequence", 1)): dt.date.fromisoformat(v["date"])
        for trip in itinerary.plan.get("trips", [])
        for v in trip["visits"]
    }
    # QA signs the release on the morning of the first infusion (the day the demo loads).
    dates[("culture", 1)] = ctx.today
    dates[("infusion", 1)] = ctx.today
    course = services.course_instantiate(
        actor=coordinator,
        patient=patient,
        package=package,
        harvest_date=ctx.today - dt.timedelta(days=HARVEST_DAYS_AGO),
        physician=doctor,
        facility=ctx.extra.get("facility"),
        visit_dates=dates,
    )
    itinerary.course = course
    itinerary.save(update_fields=["course", "updated_at"])
    services.course_schedule(actor=coordinator, course=course)
    for step in course.steps.filter(kind="consultation", status="scheduled"):
        if step.planned_date and step.planned_date < ctx.today:
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
    return course


def _inquiry_enrolled(ctx: DemoContext, inquiry: Inquiry) -> None:
    for status in ("in_review", "prescreening", "quoted", "enrolled"):
        inquiry.refresh_from_db()
        if status in inquiry_coordinator_targets(inquiry.status):
            services.inquiry_status_change(
                actor=ctx.user(Role.COORDINATOR), inquiry=inquiry, status=status
            )


def load(ctx: DemoContext) -> None:
    plan = ctx.extra.get("plan_alz")
    coordinator = ctx.user(Role.COORDINATOR)
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
    docs = _consent_docs(ctx, version, ctx.user(Role.PHYSICIAN))
    main_inquiry = inquiries["wei.lin@example.invalid"]
    patient = _main_patient(ctx, main_inquiry, coordinator)
    _prescreen_main(ctx, patient, plan)
    _quote_main(ctx, patient, plan, package, price_list)
    _consent_main(ctx, patient, docs)
    course = _course_main(ctx, patient, plan, package)
    _inquiry_enrolled(ctx, main_inquiry)

    ctx.extra["patient"] = patient
    ctx.extra["course"] = course
    ctx.extra["consent_docs"] = docs
    ctx.extra["quote"] = patient.quotes.order_by("-version").first()
    ctx.extra["package_alz"] = package
    ctx.stdout.write(
        f"journey: {Inquiry.objects.filter(organisation=ctx.org).count()} inquiries, "
        f"patient {patient.patient_code} with course {course.get_status_display()}\n"
    )
