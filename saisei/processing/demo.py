"""Demo data for processing: lots at every stage under the plan in force, one quarantined lot, a
clean lot awaiting QA release and one whose release was refused, the environmental-monitoring
programme of each cleanroom with its readings, and released doses ready for the demo course's
infusions (shared as ``ctx.extra["doses"]``).

Every harvest is for a treatment course under the Alzheimer plan in force, performed by its
listed physician for a consenting patient with a coded diagnosis; the two harvests the gate
refuses appear only as refusals on the gate's list.

Built through the services and idempotent: each demo donation carries a ``demo:<key>`` note
and is looked up by it before anything is created.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.utils import timezone

from saisei.core.demo import DEMO_PASSWORD, DemoContext
from saisei.core.errors import DomainError
from saisei.core.models import Role
from saisei.core.timezones import TOKYO
from saisei.processing import services, specs
from saisei.processing.models import Donation, Dose, EnvironmentalResult, Lot

MAIN_DOSES = 5
CULTURE_DAYS = 28  # from isolation to the harvest of the expanded cells
CELLS_PER_DOSE = 1e8

# Extra demo patients created here when the journey demo has not shared one.
PATIENTS = {
    "main": ("Lin", "Mei", dt.date(1952, 6, 14), "female", "zh-hans", 58),
    "culture": ("Wong", "Kar-fai", dt.date(1949, 2, 3), "male", "en", 71),
    "qc": ("Nguyen", "Thi Lan", dt.date(1955, 9, 21), "female", "en", 52),
    "quarantine": ("Tanaka", "Hiroshi", dt.date(1947, 11, 30), "male", "ja", 66),
    "fresh": ("Smith", "Margaret", dt.date(1951, 4, 8), "female", "en", 63),
    "stroke": ("Park", "Ji-ho", dt.date(1958, 10, 2), "male", "en", 74),
    "awaiting": ("Kim", "Soo-ah", dt.date(1953, 1, 17), "female", "en", 55),
    "blocked": ("Garcia", "Luis", dt.date(1950, 8, 2), "male", "en", 74),
    "allogeneic": ("Okafor", "Daniel", dt.date(1971, 5, 9), "male", "en", 78),
}


def _at(ctx: DemoContext, days_ago: int, hour: int = 10) -> dt.datetime:
    moment = dt.datetime.combine(ctx.today - dt.timedelta(days=days_ago), dt.time(hour), TOKYO)
    return min(moment, timezone.now() - dt.timedelta(minutes=10))


def _patient(ctx: DemoContext, key: str, *, harvest_days_ago: int) -> Any:
    """The demo patient for ``key``, enrolled with a physician-coded diagnosis and, before the
    harvest, written consent to the plan in force (the gate checks both). A patient whose
    consent was withdrawn consents again before a new course's harvest."""
    from saisei.journey.models import Patient
    from saisei.journey.services import consent_give, patient_diagnosis_set, patient_enrol

    if key == "main" and ctx.extra.get("patient") is not None:
        return ctx.extra["patient"]
    family, given, dob, sex, language, weight = PATIENTS[key]
    patient = Patient.objects.filter(
        organisation=ctx.org, family_name=family, given_name=given, date_of_birth=dob
    ).first()
    if patient is None:
        patient = patient_enrol(
            actor=ctx.user(Role.COORDINATOR),
            family_name=family,
            given_name=given,
            date_of_birth=dob,
            sex=sex,
            language=language,
            weight_kg=weight,
        )
    physician = ctx.user(Role.PHYSICIAN)
    if not patient.diagnosis_code:
        patient = patient_diagnosis_set(
            actor=physician,
            patient=patient,
            code="G30",
            text="Alzheimer's disease (amyloid-positive), mild dementia",
        )
    document = (ctx.extra.get("consent_docs") or {}).get("en")
    active = patient.consents.filter(withdrawn_at__isnull=True, voided_at__isnull=True)
    if document is not None and not active.exists():
        consent_give(
            actor=physician,
            patient=patient,
            document=document,
            given_by="patient",
            signer_name=f"{given} {family}",
            signer_confirms=True,
            password=DEMO_PASSWORD,
            paper_signed_at=_at(ctx, harvest_days_ago + 3),
        )
    return patient


PRESCREEN_ANSWERS: dict[str, Any] = {
    "diagnosis_confirmed": True,
    "diagnosis_basis": "amyloid_pet",
    "scores": {"mmse": "22", "cdr_global": "1"},
    "can_consent": True,
    "legal_proxy": False,
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


def _open_course(
    ctx: DemoContext,
    patient: Any,
    package: Any,
    days_ago: int,
    *,
    answers: dict[str, Any] | None = None,
    note: str = "Mild Alzheimer's disease; amyloid PET positive.",
) -> Any:
    """The patient's open course on the package's plan, opened here (pre-screen decided by the
    physician, the plan's physician and CPC named) when missing."""
    from saisei.journey import services as journey
    from saisei.journey.models import Prescreen, TreatmentCourse

    course = (
        TreatmentCourse.objects.filter(patient=patient, plan=package.plan, voided_at__isnull=True)
        .exclude(status__in=["stopped", "completed"])
        .first()
    )
    if course is not None:
        return course
    coordinator, physician = ctx.user(Role.COORDINATOR), ctx.user(Role.PHYSICIAN)
    if not Prescreen.objects.filter(patient=patient, plan=package.plan).exists():
        ps = journey.prescreen_record(
            actor=coordinator,
            patient=patient,
            plan=package.plan,
            answers=answers or PRESCREEN_ANSWERS,
        )
        journey.prescreen_decide(
            actor=physician,
            prescreen_obj=ps,
            decision="eligible",
            note=note,
            password=DEMO_PASSWORD,
        )
    course = journey.course_instantiate(
        actor=coordinator,
        patient=patient,
        package=package,
        harvest_date=ctx.today - dt.timedelta(days=days_ago),
        physician=ctx.extra["physician"],
        facility=ctx.extra["facility"],
    )
    # Scheduled through the compliance gate before its harvest, as the coordinator would; a
    # step the gate refuses stays blocked and the course stays planned.
    journey.course_schedule(actor=coordinator, course=course)
    course.refresh_from_db()
    return course


def _course(ctx: DemoContext, key: str, patient: Any, days_ago: int) -> Any:
    """The treatment course a demo harvest is for: the journey demo's for the main patient,
    otherwise the patient's open course on the Alzheimer plan, opened here when missing."""
    if key == "main" and ctx.extra.get("course") is not None:
        return ctx.extra["course"]
    package = ctx.extra.get("package_alz")
    if package is None:
        raise DomainError("demo_no_package", "The Alzheimer plan's package is needed.")
    return _open_course(ctx, patient, package, days_ago)


def _harvest(
    ctx: DemoContext, patient: Any, course: Any, days_ago: int, notes: str
) -> dict[str, Any]:
    """What a harvest for ``course`` records (its plan is the course's); the nurse records,
    Dr. Sato performs, the plan's CPC processes."""
    markers = dict.fromkeys(services.markers_status(donation=Donation())["missing"], "negative")
    return {
        "actor": ctx.user(Role.NURSE),
        "patient": patient,
        "course": course,
        "site": ctx.clinic,
        "physician": ctx.extra["physician"],
        "facility": ctx.extra["facility"],
        "cell_source": "autologous",
        "harvest_site": "abdomen (lipoaspiration)",
        "tissue_weight_g": 22.0,
        "container": "sterile 250 mL bottle, sealed bag",
        "collected_at": _at(ctx, days_ago, 9),
        "transport_conditions": "2–8 °C insulated box with data logger",
        "infection_markers": markers,
        "notes": notes,
    }


def _donation(ctx: DemoContext, key: str, days_ago: int, course: Any = None) -> Donation:
    existing = Donation.objects.filter(organisation=ctx.org, notes=f"demo:{key}").first()
    if existing:
        return existing
    patient = (
        course.patient if course is not None else _patient(ctx, key, harvest_days_ago=days_ago)
    )
    course = course or _course(ctx, key, patient, days_ago)
    # Every demo harvest is for a course under the plan in force and passes the compliance gate;
    # a refusal here is a bug in the demo story, so it is raised, never recorded another way.
    return services.donation_record(**_harvest(ctx, patient, course, days_ago, f"demo:{key}"))


def _donor(ctx: DemoContext) -> Any:
    """The Class I stroke plan's donor: registered, screened eligible and consented (her cells'
    harvest waits for the end of the plan's 90-day restriction; the gate refuses it until then)."""
    stroke = ctx.extra.get("plan_class1")
    if stroke is None:
        return None
    return _plan_donor(ctx, stroke, ("Mori", "Aiko", dt.date(1994, 2, 11)), 2)


def _refused_harvests(ctx: DemoContext) -> int:
    """Harvests the gate refused, kept as refusals: the story's near-misses, never records."""
    from saisei.journey.models import Inquiry, Patient
    from saisei.journey.services import patient_enrol
    from saisei.regulatory.models import GateRefusal

    refused = 0
    # An inquiry reporting only "mild cognitive impairment" was enrolled and a course opened from
    # the pre-screen; nobody has coded the diagnosis or taken consent yet, and the harvest was
    # booked too early.
    inquiry = Inquiry.objects.filter(
        organisation=ctx.org, contact_email="anna.k@example.invalid"
    ).first()
    package = ctx.extra.get("package_alz")
    if inquiry is not None and package is not None:
        patient = Patient.objects.filter(organisation=ctx.org, inquiry=inquiry).first()
        if patient is None:
            patient = patient_enrol(
                actor=ctx.user(Role.COORDINATOR),
                family_name="Kowalski",
                given_name="Boris",
                date_of_birth=dt.date(1956, 8, 19),
                sex="male",
                language="en",
                inquiry=inquiry,
                country="Poland",
            )
        known = GateRefusal.objects.filter(organisation=ctx.org, patient_code=patient.patient_code)
        if not known.exists():
            course = _open_course(
                ctx,
                patient,
                package,
                1,
                answers={**PRESCREEN_ANSWERS, "scores": {"mmse": "26", "cdr_global": "0.5"}},
                note="Memory complaints; Alzheimer's disease to be confirmed before the harvest.",
            )
            try:
                services.donation_record(**_harvest(ctx, patient, course, 1, "demo:refused-mci"))
            except DomainError:
                refused += 1
    # A harvest attempted for a course under the Class I stroke plan, still inside its 90-day
    # wait.
    stroke = ctx.extra.get("plan_class1")
    if (
        stroke is not None
        and not GateRefusal.objects.filter(organisation=ctx.org, plan=stroke).exists()
    ):
        patient, course = _stroke_course(ctx, stroke)
        try:
            services.donation_record(
                **{
                    **_harvest(ctx, patient, course, 2, "demo:refused-class1"),
                    "cell_source": "allogeneic",
                    "harvest_site": "umbilical cord (donor)",
                    "donor": _donor(ctx),
                }
            )
        except DomainError:
            refused += 1
    return refused


def _stroke_course(ctx: DemoContext, plan: Any) -> tuple[Any, Any]:
    """A stroke patient, consented and pre-screened, with a course on the Class I plan."""
    return _donor_cells_course(
        ctx,
        plan,
        "stroke",
        diagnosis=("I63", "Ischaemic stroke, 14 months ago"),
        consent_title=(
            "Explanation and consent: donor umbilical-cord MSC for chronic ischaemic stroke"
        ),
        consent_days_ago=20,
        package=("STROKE-IV-1", "Donor umbilical-cord MSC, one intravenous infusion", 1, 21),
        days_ago=2,
        note="Chronic ischaemic stroke, stable for over a year.",
    )


def _donor_cells_course(
    ctx: DemoContext,
    plan: Any,
    key: str,
    *,
    diagnosis: tuple[str, str],
    consent_title: str,
    consent_days_ago: int,
    package: tuple[str, str, int, int],
    days_ago: int,
    note: str,
) -> tuple[Any, Any]:
    """A patient, consented and pre-screened, with a course on a plan using donor cells.
    ``package`` is (code, name, infusions, culture days)."""
    from saisei.journey import services as journey
    from saisei.journey.models import ConsentDocument, Patient, TreatmentPackage

    physician, coordinator = ctx.user(Role.PHYSICIAN), ctx.user(Role.COORDINATOR)
    family, given, dob, sex, language, weight = PATIENTS[key]
    patient = Patient.objects.filter(
        organisation=ctx.org, family_name=family, given_name=given, date_of_birth=dob
    ).first() or journey.patient_enrol(
        actor=coordinator,
        family_name=family,
        given_name=given,
        date_of_birth=dob,
        sex=sex,
        language=language,
        weight_kg=weight,
    )
    if not patient.diagnosis_code:
        patient = journey.patient_diagnosis_set(
            actor=physician, patient=patient, code=diagnosis[0], text=diagnosis[1]
        )
    version = plan.versions.order_by("-number").first()
    document = ConsentDocument.objects.filter(
        plan_version=version, language="en", version="1.0"
    ).first() or journey.consent_document_create(
        actor=physician,
        plan_version=version,
        language="en",
        version="1.0",
        title=consent_title,
        body=(
            "What the treatment is (intravenous infusion of donor umbilical-cord stem "
            "cells), what it may and may not do, its risks, and your right to stop at any time."
        ),
        effective_from=ctx.today - dt.timedelta(days=consent_days_ago),
    )
    if not patient.consents.filter(withdrawn_at__isnull=True, voided_at__isnull=True).exists():
        journey.consent_give(
            actor=physician,
            patient=patient,
            document=document,
            given_by="patient",
            signer_name=f"{given} {family}",
            signer_confirms=True,
            password=DEMO_PASSWORD,
            paper_signed_at=_at(ctx, days_ago + 3),
        )
    code, name, infusions, culture_days = package
    treatment = TreatmentPackage.objects.filter(plan=plan, code=code).first()
    if treatment is None:
        treatment = journey.package_create(
            actor=coordinator,
            plan=plan,
            code=code,
            name=name,
            infusions=infusions,
            interval_days=28,
            culture_days=culture_days,
            dose_cells=version.dose_min_cells or 50_000_000,
            route="iv",
            follow_up_months=[3, 6, 12],
        )
    course = _open_course(ctx, patient, treatment, days_ago, note=note)
    return patient, course


def _plan_donor(ctx: DemoContext, plan: Any, name: tuple[str, str, dt.date], days_ago: int) -> Any:
    """A donor registered for ``plan``, screened eligible on every criterion and consented
    ``days_ago`` days ago (the same for each run: found again by plan and name)."""
    from saisei.processing.donor_rules import donor_criteria
    from saisei.processing.models import Donor

    family, given, birth = name
    donor = Donor.objects.filter(organisation=ctx.org, plan=plan, family_name=family).first()
    if donor is not None:
        return donor
    physician = ctx.user(Role.PHYSICIAN)
    donor = services.donor_register(
        actor=physician,
        plan=plan,
        family_name=family,
        given_name=given,
        birth_date=birth,
        sex="female",
    )
    donor = services.donor_screening_record(
        actor=ctx.user(Role.CPC_TECHNICIAN),
        donor=donor,
        results={c.code: "pass" for c in donor_criteria()},
        at=timezone.now() - dt.timedelta(days=days_ago + 1),
    )
    return services.donor_consent_record(
        actor=physician,
        donor=donor,
        signed_at=timezone.now() - dt.timedelta(days=days_ago),
        form_version="DONOR-ICF-JA 1.0",
    )


def _allogeneic_lot(ctx: DemoContext) -> Lot | None:
    """A harvest from a donor under the ALS plan (Class I, in force since its 90-day restriction
    ended): the donor screened and consented, the donation linked to her by its DIN only, and
    the lot grown, divided into labelled bags of the allogeneic collection type and waiting for
    its sterility result (so nothing is released or given in the story)."""
    plan = ctx.extra.get("plan_allogeneic")
    if plan is None:
        return None
    days_ago = 30
    donation = Donation.objects.filter(organisation=ctx.org, notes="demo:allogeneic").first()
    if donation is None:
        donor = _plan_donor(ctx, plan, ("Sato", "Yui", dt.date(1992, 7, 23)), days_ago + 2)
        patient, course = _donor_cells_course(
            ctx,
            plan,
            "allogeneic",
            diagnosis=("G12.2", "Amyotrophic lateral sclerosis, diagnosed 2 years ago"),
            consent_title="Explanation and consent: donor umbilical-cord MSC for ALS",
            consent_days_ago=120,
            package=("ALS-IV-3", "Donor umbilical-cord MSC, three intravenous infusions", 3, 35),
            days_ago=days_ago,
            note="ALS, ALSFRS-R 38; able to consent.",
        )
        donation = services.donation_record(
            **{
                **_harvest(ctx, patient, course, days_ago, "demo:allogeneic"),
                "cell_source": "allogeneic",
                "harvest_site": "umbilical cord (donor, planned caesarean birth)",
                "tissue_weight_g": 18.0,
                "donor": donor,
            }
        )
    lot = _lot(ctx, donation, days_ago=days_ago, doses=3)
    if lot.status == Lot.Status.IN_CULTURE:
        _culture(ctx, lot, days_ago=days_ago, harvest_cells=3.4e8)
        _divide_and_qc(ctx, lot, pending=(specs.STERILITY,))
        for dose in lot.doses.order_by("sequence"):
            services.label_print(actor=ctx.user(Role.CPC_TECHNICIAN), dose=dose, count=1)
    return lot


def _first_course_of_fresh(ctx: DemoContext, patient: Any) -> Donation:
    """Margaret Smith's first course: harvested, grown and frozen, then stopped when the family
    withdrew consent before QA signed the release; QA has rejected the lot. Her new course
    (re-consented) has its own harvest and its own chain-of-identity identifier, so these bags can
    never verify for it."""
    from saisei.journey import services as journey
    from saisei.journey.models import Consent

    existing = Donation.objects.filter(organisation=ctx.org, notes="demo:fresh_first").first()
    if existing:
        return existing
    course = _course(ctx, "fresh_first", patient, 80)
    donation = _donation(ctx, "fresh_first", 80, course=course)
    lot = _lot(ctx, donation, days_ago=80, doses=2)
    _culture(ctx, lot, days_ago=80, harvest_cells=2.3e8)
    _divide_and_qc(ctx, lot)
    _store(ctx, lot, "LN2-2", days_ago=80)
    consent = Consent.objects.filter(patient=patient, withdrawn_at__isnull=True).first()
    if consent is not None:
        journey.consent_withdraw(
            actor=ctx.user(Role.PHYSICIAN),
            consent=consent,
            reason="The family paused treatment after a bereavement.",
            at=_at(ctx, 45, 10),
        )
    lot.refresh_from_db()
    if lot.status == Lot.Status.QC_PENDING:
        qa = ctx.user(Role.QA_MANAGER)
        services.lot_reject(
            actor=qa,
            lot=lot,
            reason="Consent was withdrawn before release; the cells will not be given.",
            password=DEMO_PASSWORD,
            otp=ctx.otp(qa),
        )
    return donation


def _tissue_custody(ctx: DemoContext, donation: Donation, *, days_ago: int) -> None:
    """Label the tissue container at collection and scan it at every hand-over to the CPC."""
    if donation.custody.exists():
        return
    physician = ctx.user(Role.PHYSICIAN)
    record, _pdf = services.donation_label_print(actor=physician, donation=donation, count=2)
    services.label_reconcile(actor=physician, label=record, applied=1, destroyed=1)
    scan = record.content["datamatrix"]
    legs = [
        (
            "collection",
            str(physician),
            "Clinic nurse",
            "Sakura Clinic Tokyo, procedure room",
            9,
            None,
        ),
        ("transport", "Clinic nurse", "Courier", "Sakura Clinic Tokyo", 11, (4.1, 6.3)),
        ("cpc_receipt", "Courier", "Sakura CPC", "Sakura CPC, receiving", 13, None),
    ]
    for stage, giver, taker, place, hour, temps in legs:
        services.custody_handover(
            actor=physician if stage == "collection" else ctx.user(Role.CPC_TECHNICIAN),
            stage=stage,
            scan_text=scan,
            donation=donation,
            from_party=giver,
            to_party=taker,
            place=place,
            occurred_at=_at(ctx, days_ago, hour),
            temperature_min_c=temps[0] if temps else None,
            temperature_max_c=temps[1] if temps else None,
        )


def _passing(spec: specs.Specification) -> Any:
    if spec.kind == specs.Kind.CATEGORICAL:
        return sorted(spec.accepted)[0]
    if spec.comparator == specs.Comparator.BETWEEN:
        return round((spec.limit + spec.upper_limit) / 2)  # type: ignore[operator]
    if spec.comparator in (specs.Comparator.GE, specs.Comparator.GT):
        return min(spec.limit * 1.25, 98.5) if spec.unit == "%" else spec.limit * 1.08  # type: ignore[operator]
    return round(spec.limit * 0.2, 2)  # type: ignore[operator]


def _lot(
    ctx: DemoContext, donation: Donation, *, days_ago: int, doses: int, fresh: bool = False
) -> Lot:
    lot = donation.lots.first()
    if lot:
        return lot
    return services.lot_create(
        actor=ctx.user(Role.CPC_TECHNICIAN),
        donation=donation,
        planned_doses=doses,
        cells_per_dose=CELLS_PER_DOSE,
        started_on=ctx.today - dt.timedelta(days=days_ago),
        allow_conditional_release=fresh,
        dose_volume_ml=50,
    )


def _culture(ctx: DemoContext, lot: Lot, *, days_ago: int, harvest_cells: float | None) -> None:
    tech = ctx.user(Role.CPC_TECHNICIAN)
    step = services.culture_step_record
    step(
        actor=tech,
        lot=lot,
        kind="isolation",
        performed_at=_at(ctx, days_ago, 11),
        notes="Collagenase digestion, SVF isolated",
        reagent_lots="COL-2611",
    )
    step(
        actor=tech,
        lot=lot,
        kind="seeding",
        performed_at=_at(ctx, days_ago, 15),
        cell_count=2.4e7,
        viability_pct=91,
        vessel_type="T-175",
        vessel_count=4,
        area_cm2=700,
        media_lot="HPL-2609-A",
    )
    step(
        actor=tech,
        lot=lot,
        kind="passage",
        passage_number=1,
        performed_at=_at(ctx, days_ago - 9),
        cell_count=4.1e6,
        viability_pct=95,
        population_doublings=2.6,
        vessel_type="T-175",
        vessel_count=6,
        area_cm2=1050,
        media_lot="HPL-2609-A",
        reagent_lots="TrypLE-88",
    )
    if harvest_cells is None:
        return
    step(
        actor=tech,
        lot=lot,
        kind="passage",
        passage_number=2,
        performed_at=_at(ctx, days_ago - 18),
        cell_count=3.5e7,
        viability_pct=94,
        population_doublings=round(math.log2(3.5e7 / 4.1e6), 1),
        vessel_type="CellSTACK-5",
        vessel_count=2,
        area_cm2=6360,
        media_lot="HPL-2610-B",
        reagent_lots="TrypLE-88",
    )
    step(
        actor=tech,
        lot=lot,
        kind="harvest",
        passage_number=3,
        performed_at=_at(ctx, days_ago - CULTURE_DAYS),
        cell_count=harvest_cells,
        viability_pct=93,
        population_doublings=round(math.log2(harvest_cells / 3.5e7), 1),
        vessel_type="CellSTACK-10",
        vessel_count=2,
        area_cm2=12720,
        media_lot="HPL-2610-B",
    )


def _divide_and_qc(
    ctx: DemoContext, lot: Lot, *, pending: tuple[str, ...] = (), override: dict | None = None
) -> None:
    tech = ctx.user(Role.CPC_TECHNICIAN)
    services.dose_divide(
        actor=tech,
        lot=lot,
        bags=[{"cell_count": CELLS_PER_DOSE, "volume_ml": 50}] * lot.planned_doses,
    )
    services.lot_submit_qc(actor=tech, lot=lot)
    for spec in services.lot_specifications(lot=lot):
        if not spec.required_for_release or spec.stage != specs.Stage.RELEASE:
            continue
        value = (override or {}).get(spec.code, _passing(spec))
        services.qc_result_record(
            actor=tech,
            lot=lot,
            test_code=spec.code,
            value=value,
            pending=spec.code in pending,
            method="demo",
        )


def _store(ctx: DemoContext, lot: Lot, freezer: str, *, days_ago: int) -> None:
    """Bags frozen on the afternoon the culture was harvested (``days_ago`` is the lot's start)."""
    tech = ctx.user(Role.CPC_TECHNICIAN)
    for dose in lot.doses.filter(freezer=""):
        services.dose_cryopreserve(
            actor=tech,
            dose=dose,
            freezer=freezer,
            rack=lot.number[-6:],
            position=f"{dose.sequence:02d}",
            cryopreserved_at=_at(ctx, days_ago - CULTURE_DAYS, 16),
        )


def _release(ctx: DemoContext, lot: Lot, *, conditional: bool = False) -> Any:
    qa = ctx.user(Role.QA_MANAGER)
    return services.lot_release(
        actor=qa,
        lot=lot,
        password=DEMO_PASSWORD,
        otp=ctx.otp(qa),
        meaning="I have reviewed the batch record and QC results and release this lot for clinical use.",
        conditional=conditional,
        justification=(
            "Fresh product for an infusion before the 14-day culture ends; Gram stain negative."
            if conditional
            else ""
        ),
    )


EM_SOURCE = (
    "PIC/S GMP Guide PE 009-17 Annex 1 (2022): Table 5 (total particles, in operation) and "
    "Table 6 (viable action limits); alert limits set by the facility from its trend review"
)
EM_ROOMS: list[tuple[str, str, list[tuple[str, float, float]]]] = [
    (
        "Safety cabinet 1",
        "A",
        [
            ("particles_0_5", 2000, 3520),
            ("particles_5_0", 20, 29),
            ("air_viable", 0, 0),
            ("settle_plate", 0, 0),
            ("glove_print", 0, 0),
        ],
    ),
    (
        "Processing room 2",
        "B",
        [
            ("particles_0_5", 200_000, 352_000),
            ("particles_5_0", 1500, 2930),
            ("air_viable", 5, 10),
            ("settle_plate", 3, 5),
            ("contact_plate", 3, 5),
            ("glove_print", 3, 5),
        ],
    ),
    (
        "Gowning room",
        "C",
        [
            ("particles_0_5", 2_000_000, 3_520_000),
            ("particles_5_0", 15_000, 29_300),
            ("air_viable", 50, 100),
            ("settle_plate", 25, 50),
            ("contact_plate", 13, 25),
        ],
    ),
]


def _limits(rows: list[tuple[str, float, float]]) -> list[dict[str, Any]]:
    return [{"parameter": p, "alert_limit": a, "action_limit": b} for p, a, b in rows]


def _programmes(ctx: DemoContext) -> None:
    """The monitoring programme of each cleanroom, prepared by the CPC and approved by QA; a
    second version of room 2 with tighter alert limits waits for QA's signature."""
    from saisei.processing.models import MonitoringProgramme

    if MonitoringProgramme.objects.filter(organisation=ctx.org).exists():
        return
    tech, qa = ctx.user(Role.CPC_TECHNICIAN), ctx.user(Role.QA_MANAGER)
    for room, grade, rows in EM_ROOMS:
        draft = services.monitoring_programme_prepare(
            actor=tech,
            site=ctx.cpc,
            room=room,
            grade=grade,
            effective_from=ctx.today - dt.timedelta(days=120),
            source=EM_SOURCE,
            limits=_limits(rows),
        )
        services.monitoring_programme_approve(
            actor=qa, programme=draft, password=DEMO_PASSWORD, otp=ctx.otp(qa)
        )
    services.monitoring_programme_prepare(
        actor=tech,
        site=ctx.cpc,
        room="Processing room 2",
        grade="B",
        effective_from=ctx.today + dt.timedelta(days=14),
        source=EM_SOURCE + "; alert limits lowered after the Q3 trend review",
        limits=_limits(
            [
                ("particles_0_5", 150_000, 352_000),
                ("particles_5_0", 1000, 2930),
                ("air_viable", 3, 10),
                ("settle_plate", 2, 5),
                ("contact_plate", 2, 5),
                ("glove_print", 2, 5),
            ]
        ),
    )


def _close(ctx: DemoContext, deviation: Any, investigation: str, impact: str, capa: str) -> None:
    services.deviation_update(
        actor=ctx.user(Role.CPC_TECHNICIAN),
        deviation=deviation,
        investigation=investigation,
        impact=impact,
        capa=capa,
        status="investigating",
    )
    services.deviation_update(actor=ctx.user(Role.QA_MANAGER), deviation=deviation, status="closed")


def _environment(ctx: DemoContext) -> None:
    """Readings judged by the programmes: most within limits, one alert and one action-level
    excursion, each investigated and closed by QA (so lots made meanwhile may be released)."""
    if EnvironmentalResult.objects.filter(organisation=ctx.org).exists():
        return
    tech = ctx.user(Role.CPC_TECHNICIAN)

    def read(room: str, point: str, parameter: str, value: float, days: int, hour: int) -> Any:
        return services.environmental_result_record(
            actor=tech,
            site=ctx.cpc,
            room=room,
            location=point,
            parameter=parameter,
            value=value,
            sampled_at=_at(ctx, days, hour),
        )

    for days in (9, 6, 3):
        read("Safety cabinet 1", "work surface", "settle_plate", 0, days, 15)
        read("Safety cabinet 1", "work surface", "particles_0_5", 610, days, 11)
        read("Processing room 2", "centre, bench height", "air_viable", 2, days, 11)
    read("Gowning room", "bench", "contact_plate", 6, 5, 16)
    alert = read("Processing room 2", "near the pass-through", "particles_0_5", 240_000, 8, 14)
    _close(
        ctx,
        alert.deviation,
        "Pass-through door interlock left open during a transfer; repeat counts normal.",
        "No lot was open in the room at the time; no product impact.",
        "Interlock alarm re-enabled; operators reminded at the morning briefing.",
    )
    action = read("Processing room 2", "centre, bench height", "air_viable", 14, 4, 10)
    _close(
        ctx,
        action.deviation,
        "Organism identified as Micrococcus (skin flora); an operator's gown was torn at the cuff.",
        "All lots in process were handled in closed systems inside the grade A cabinet, whose "
        "readings stayed at no growth; no product impact.",
        "Gowning procedure re-trained; gown supplier lot checked; extra sampling for two weeks.",
    )


def _refused_release(ctx: DemoContext, lot: Lot) -> None:
    """QA tried to release a lot with an open deviation: the refusal is on record, not a release."""
    from saisei.core.models import AuditEntry

    if AuditEntry.objects.filter(
        action="lot.release_refused", subject_id=str(lot.external_id)
    ).exists():
        return
    if not lot.deviations.exclude(status="closed").exists():
        services.deviation_open(
            actor=ctx.user(Role.CPC_TECHNICIAN),
            lot=lot,
            source="other",
            severity="major",
            title="CO₂ alarm on incubator 2 during passage 2",
            description="CO₂ fell to 3.1 % for about 40 minutes overnight; investigation opened.",
        )
    try:
        _release(ctx, lot)
    except DomainError as exc:
        ctx.stdout.write(
            f"  processing: release of {lot.number} refused ({exc.code}), as it must\n"
        )


def _main_lot(ctx: DemoContext) -> Lot:
    """The main patient's lot: grown, frozen and labelled, stored, then released by QA on the
    morning of her first infusion (the day the demo loads), which closes the course's culture
    step. Shares its released doses as ``ctx.extra["doses"]``."""
    tech = ctx.user(Role.CPC_TECHNICIAN)
    lot = _lot(ctx, _donation(ctx, "main", 40), days_ago=40, doses=MAIN_DOSES)
    if lot.status == Lot.Status.IN_CULTURE:
        _tissue_custody(ctx, lot.donation, days_ago=40)
        _culture(ctx, lot, days_ago=40, harvest_cells=5.4e8)
        _divide_and_qc(ctx, lot)
        _store(ctx, lot, "LN2-1", days_ago=40)
        dose = lot.doses.order_by("sequence").first()
        assert dose is not None
        scan = f"={dose.din}{lot.donation.din_flags}=<{dose.product_code}&/{dose.coi}"
        services.label_print(actor=tech, dose=dose, count=2)
        services.custody_handover(
            actor=tech,
            stage="storage",
            scan_text=scan,
            dose=dose,
            from_party="Sakura CPC",
            to_party="LN2-1",
            place="Sakura CPC",
            occurred_at=_at(ctx, 5, 17),
        )
        lot.refresh_from_db()
    if lot.status == Lot.Status.QC_PENDING:
        release = _release(ctx, lot)
        _close_culture_step(ctx, lot, release.signed_at)
    ctx.extra["lot"] = lot
    ctx.extra["doses"] = list(
        Dose.objects.filter(lot=lot, status=Dose.Status.RELEASED).order_by("sequence")
    )
    return lot


def _close_culture_step(ctx: DemoContext, lot: Lot, at: dt.datetime) -> None:
    """The course's culture step is done when its lot is released, not before."""
    from saisei.journey.services import course_step_complete

    course = lot.donation.course
    if course is None:
        return
    for step in course.steps.filter(kind="culture", status="scheduled", voided_at__isnull=True):
        course_step_complete(actor=ctx.user(Role.COORDINATOR), step=step, at=at)


def _lots_in_progress(ctx: DemoContext) -> None:
    """One lot in culture, one waiting for its sterility result, one quarantined for endotoxin
    with the course's repeat harvest started."""
    culture = _lot(ctx, _donation(ctx, "culture", 12), days_ago=12, doses=3)
    if culture.status == Lot.Status.IN_CULTURE and not culture.steps.exists():
        _culture(ctx, culture, days_ago=12, harvest_cells=None)

    qc = _lot(ctx, _donation(ctx, "qc", 31), days_ago=31, doses=3)
    if qc.status == Lot.Status.IN_CULTURE:
        _culture(ctx, qc, days_ago=31, harvest_cells=3.3e8)
        _divide_and_qc(ctx, qc, pending=(specs.STERILITY,))

    # The course goes on with a repeat harvest, which shares its chain-of-identity identifier.
    bad = _lot(ctx, _donation(ctx, "quarantine", 35), days_ago=35, doses=3)
    if bad.status == Lot.Status.IN_CULTURE:
        _culture(ctx, bad, days_ago=35, harvest_cells=3.2e8)
        limit = services.lot_specifications(lot=bad).get(specs.ENDOTOXIN).limit or 1
        _divide_and_qc(ctx, bad, override={specs.ENDOTOXIN: round(limit * 1.6, 1)})
    repeat = _donation(ctx, "quarantine_repeat", 6, course=bad.donation.course)
    _lot(ctx, repeat, days_ago=6, doses=3)
    ctx.extra["recent_harvest"] = repeat


def _lots_for_qa(ctx: DemoContext) -> None:
    """Fresh product conditionally released today; a clean lot waiting for QA's signature; a lot
    whose release QA tried and the open deviation refused."""
    # Fresh product for a patient on her second course; her first course's bags stay in the
    # freezer under their own identifier.
    first_course = _first_course_of_fresh(ctx, _patient(ctx, "fresh", harvest_days_ago=80))
    fresh = _lot(ctx, _donation(ctx, "fresh", 30), days_ago=30, doses=2, fresh=True)
    if fresh.status == Lot.Status.IN_CULTURE:
        _culture(ctx, fresh, days_ago=30, harvest_cells=2.2e8)
        _divide_and_qc(ctx, fresh, pending=(specs.STERILITY,))
        _release(ctx, fresh, conditional=True)
    ctx.extra["second_course_patient"] = first_course.patient

    # Clean and complete: waiting for QA to sign the release (try it as qa_manager).
    awaiting = _lot(ctx, _donation(ctx, "awaiting", 29), days_ago=29, doses=3)
    if awaiting.status == Lot.Status.IN_CULTURE:
        _culture(ctx, awaiting, days_ago=29, harvest_cells=3.4e8)
        _divide_and_qc(ctx, awaiting)
    ctx.extra["lot_awaiting_release"] = awaiting

    # Complete too, but an open deviation: QA's release attempt was refused and recorded.
    blocked = _lot(ctx, _donation(ctx, "blocked", 33), days_ago=33, doses=3)
    if blocked.status == Lot.Status.IN_CULTURE:
        _culture(ctx, blocked, days_ago=33, harvest_cells=3.6e8)
        _divide_and_qc(ctx, blocked)
    blocked.refresh_from_db()
    if blocked.status == Lot.Status.QC_PENDING:
        _refused_release(ctx, blocked)


def load(ctx: DemoContext) -> None:
    if ctx.extra.get("plan_alz") is None or ctx.extra.get("consent_docs") is None:
        # No plan in force, no harvest: the demo does not record cells outside a plan.
        ctx.stdout.write("  processing: no Alzheimer plan in force; nothing harvested\n")
        return
    _programmes(ctx)
    _environment(ctx)
    lot = _main_lot(ctx)
    _lots_in_progress(ctx)
    _lots_for_qa(ctx)
    _donor(ctx)
    _refused_harvests(ctx)
    _allogeneic_lot(ctx)
    from saisei.regulatory.models import GateRefusal

    refused = GateRefusal.objects.filter(organisation=ctx.org, act="harvest").count()
    held = Dose.objects.filter(lot=lot, status=Dose.Status.ON_HOLD).count()
    ctx.stdout.write(
        f"  processing: {Lot.objects.filter(organisation=ctx.org).count()} lots, "
        f"{len(ctx.extra['doses'])} released and {held} held doses for "
        f"{lot.donation.patient}; {refused} harvest(s) on the compliance gate's refusal list\n"
    )
