"""One synthetic patient's story, inquiry to follow-up, as rows and ledger drafts of a batch."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models

from saisei.core import audit
from saisei.core.models import Role, User
from saisei.core.timezones import TOKYO
from saisei.seed.chain import Draft
from saisei.seed.constants import (
    CELLS_PER_DOSE,
    CULTURE_DAYS,
    FOLLOW_UP_MONTHS,
    INFUSIONS,
    INTERVAL_DAYS,
    D,
    patient_code,
)
from saisei.seed.network import OrgSetup
from saisei.seed.writer import Maker, write_objects

_MAKERS: dict[type[models.Model], Maker] = {}


class Batch:
    """Rows of one batch of patients, per model, in the order they must be written."""

    def __init__(self) -> None:
        self.rows: dict[type[models.Model], list[models.Model]] = {}
        self.drafts: list[Draft] = []

    def add(self, obj: models.Model) -> Any:
        self.rows.setdefault(type(obj), []).append(obj)
        return obj

    def new(self, model: type[models.Model], **values: Any) -> Any:
        """A new unsaved ``model(**values)``, added to the batch."""
        maker = _MAKERS.get(model)
        if maker is None:
            maker = _MAKERS[model] = Maker(model)
        return self.add(maker(values))

    def log(
        self, at: dt.datetime, actor: User | None, action: str, subject: Any, **changes: Any
    ) -> None:
        subject_type, subject_id = audit._subject_parts(subject)
        self.drafts.append(Draft(at, actor, action, subject_type, subject_id, changes))

    def write(self, order: list[type[models.Model]]) -> int:
        # Parents first: a child's foreign key takes the key reserved for its parent.
        return write_objects(order, self.rows)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), TOKYO)


def _passing(spec: Any) -> Any:
    from saisei.processing import specs

    if spec.kind == specs.Kind.CATEGORICAL:
        return sorted(spec.accepted)[0]
    if spec.comparator == specs.Comparator.BETWEEN:
        return round((spec.limit + spec.upper_limit) / 2)
    if spec.comparator in (specs.Comparator.GE, specs.Comparator.GT):
        return min(spec.limit * 1.25, 98.5) if spec.unit == "%" else spec.limit * 1.08
    return round(spec.limit * 0.2, 2)


def _reserve_din_numbers(facility_id: str, year: int, count: int) -> int:
    """Take ``count`` DIN sequence numbers at once; returns the first."""
    from saisei.processing.models import NumberSequence

    row, _ = NumberSequence.objects.get_or_create(key=f"DIN:{facility_id}", year=year % 100)
    row = NumberSequence.objects.select_for_update().get(pk=row.pk)
    first = row.last + 1
    row.last += count
    row.save(update_fields=["last"])
    return first


MODEL_ORDER: list[str] = [
    "journey.Inquiry",
    "journey.Patient",
    "journey.Prescreen",
    "journey.Consent",
    "journey.TreatmentCourse",
    "journey.CourseStep",
    "processing.ChainOfIdentity",
    "processing.Donation",
    "processing.Lot",
    "processing.CultureStep",
    "processing.QCResult",
    "processing.Release",
    "processing.Dose",
    "processing.LabelPrint",
    "processing.CustodyEvent",
    "treatment.BedsideVerification",
    "treatment.Administration",
    "outcomes.AssessmentSchedule",
    "outcomes.ScheduledAssessment",
    "outcomes.Assessment",
    "safety.AdverseEvent",
    "regulatory.Obligation",
]


def _models() -> list[type[models.Model]]:
    from django.apps import apps

    return [apps.get_model(label) for label in MODEL_ORDER]


def _label_content(
    *,
    din: Any,
    product_code: str,
    product_code_data: str,
    division: str,
    expires: dt.datetime,
    description: str,
    coi: Any,
    patient: Any,
) -> dict[str, Any]:
    from saisei.processing.isbt128 import expiration_barcode_data
    from saisei.processing.labels import PatientIdentifiers, ProductLabel

    label = ProductLabel(
        din=din.din,
        check_character=din.check_character,
        din_data=din.barcode_data,
        product_code=product_code,
        product_code_data=product_code_data,
        division=division,
        expiry=expires,
        expiry_data=expiration_barcode_data(expires=expires),
        flags_text=din.eye_readable().flags,
        product_description=description,
        coi_text=coi.content,
        coi_check_character=coi.check_character(),
        coi_data=coi.barcode_data,
        patient=PatientIdentifiers(
            name=patient.display_name,
            date_of_birth=patient.date_of_birth,
            patient_id=patient.patient_code,
        ),
    )
    return {
        "datamatrix": label.datamatrix_data(),
        "din": label.din_data,
        "product_code": label.product_code_data,
        "expiry": label.expiry_data,
        "coi": label.coi_data,
    }


@dataclass
class _Story:
    """What every step of one patient's story reads: the batch, the group, the draws, the day."""

    b: Batch
    s: OrgSetup
    rng: random.Random
    seed: int
    i: int
    today: dt.date
    code: str
    harvest: dt.date
    common: dict[str, Any]


@dataclass
class _Din:
    """The donation's identifiers: processing config, DIN, chain of identity, collection type."""

    config: Any
    din: Any
    coi: Any
    parsed_din: Any
    collection_type: str


def _enrolment(st: _Story) -> tuple[Any, Decimal]:
    """Inquiry and patient; draws sex, birth date, weight, language and country, in that order."""
    from saisei.journey.models import Inquiry, Patient

    b = st.b
    s = st.s
    rng = st.rng
    common = st.common
    code = st.code
    harvest = st.harvest
    coordinator = st.s.users[Role.COORDINATOR]
    seed, i = st.seed, st.i
    sex = rng.choice(["female", "male"])
    dob = dt.date(rng.randint(1940, 1966), rng.randint(1, 12), rng.randint(1, 28))
    weight = Decimal(f"{rng.uniform(45, 90):.1f}")
    language = rng.choice(["en", "en", "ja", "zh-hans"])

    inquiry_at = _at(harvest - D(75), 10)
    inquiry = b.new(
        Inquiry,
        **common,
        created_at=inquiry_at,
        reference=f"SYN{seed}{s.k:02d}{i:07d}"[-16:],
        status=Inquiry.Status.ENROLLED,
        language=language,
        contact_name=f"SYNTH Family {code}",
        contact_email=f"{code.lower()}@synthetic.saisei.invalid",
        patient_name=f"SYNTH Patient {code}",
        patient_date_of_birth=dob,
        patient_sex=sex,
        country=rng.choice(["Singapore", "China", "Australia", "Japan", "USA"]),
        diagnosis="Alzheimer's disease (synthetic record)",
        privacy_notice_version="synthetic",
        privacy_notice_language=language,
        privacy_notice_text="Synthetic record: no person gave this consent.",
        privacy_consent_at=inquiry_at,
        assigned_to=coordinator,
        status_changed_at=_at(harvest - D(50), 10),
    )
    b.log(inquiry_at, None, "inquiry.submit", inquiry, reference=inquiry.reference)
    enrolled_at = _at(harvest - D(50), 11)
    patient = b.new(
        Patient,
        **common,
        created_at=enrolled_at,
        patient_code=code,
        family_name="SYNTH",
        given_name=f"Patient {i:06d}",
        date_of_birth=dob,
        sex=sex,
        weight_kg=weight,
        language=language,
        country=inquiry.country,
        email=inquiry.contact_email,
        diagnosis_code="G30",
        diagnosis_text="Alzheimer's disease (synthetic record)",
        diagnosis_source=Patient.DiagnosisSource.PHYSICIAN,
        status=Patient.Status.ENROLLED,
        inquiry=inquiry,
        enrolled_by=coordinator,
    )
    b.log(enrolled_at, coordinator, "patient.enrol", patient, patient_code=code)
    return patient, weight


def _prescreen_and_consent(st: _Story, patient: Any) -> None:
    """The eligible prescreen (recorded and decided) and the patient's consent."""
    from saisei.journey.models import Consent, Prescreen

    b = st.b
    s = st.s
    common = st.common
    code = st.code
    harvest = st.harvest
    doctor = st.s.users[Role.PHYSICIAN]
    prescreen_at = _at(harvest - D(45), 14)
    prescreen = b.new(
        Prescreen,
        **common,
        created_at=prescreen_at,
        patient=patient,
        plan=s.plan,
        answers={"diagnosis_confirmed": True, "scores": {"mmse": "22"}, "synthetic": True},
        outcome=Prescreen.Outcome.ELIGIBLE,
        decision=Prescreen.Outcome.ELIGIBLE,
        decided_by=doctor,
        decided_at=prescreen_at,
    )
    b.log(prescreen_at, doctor, "prescreen.record", prescreen, outcome="eligible")
    b.log(prescreen_at, doctor, "prescreen.decide", prescreen, decision="eligible")
    consent_at = _at(harvest - D(30), 10)
    consent = b.new(
        Consent,
        **common,
        created_at=consent_at,
        patient=patient,
        document=s.consent_doc,
        plan_version=s.version,
        given_by=Consent.GivenBy.PATIENT,
        signer_name=f"SYNTH Patient {code}",
        signed_at=consent_at,
        explained_by=doctor,
        signature_evidence={"synthetic": True},
    )
    b.log(consent_at, doctor, "consent.give", consent, patient=code)


def _course(st: _Story, patient: Any) -> tuple[Any, list[dt.date], list[Any]]:
    """The treatment course and its steps: harvest, culture, one per infusion."""
    from saisei.journey.models import CourseStep, TreatmentCourse

    b = st.b
    s = st.s
    today = st.today
    common = st.common
    harvest = st.harvest
    coordinator = st.s.users[Role.COORDINATOR]
    infusion_days = [harvest + D(CULTURE_DAYS + INTERVAL_DAYS * n) for n in range(INFUSIONS)]
    given = [day for day in infusion_days if day < today]
    course = b.new(
        TreatmentCourse,
        **common,
        created_at=_at(harvest - D(28), 9),
        patient=patient,
        plan=s.plan,
        physician=s.physician,
        facility=s.facility,
        package={
            "code": s.package.code,
            "infusions": INFUSIONS,
            "interval_days": INTERVAL_DAYS,
            "culture_days": CULTURE_DAYS,
            "dose_cells": CELLS_PER_DOSE,
            "route": "iv",
        },
        status=(
            TreatmentCourse.Status.COMPLETED
            if len(given) == INFUSIONS
            else TreatmentCourse.Status.IN_PROGRESS
        ),
    )
    b.log(course.created_at, coordinator, "course.instantiate", course, plan=s.plan.plan_number)
    done, scheduled = CourseStep.Status.DONE, CourseStep.Status.SCHEDULED
    b.new(
        CourseStep,
        **common,
        course=course,
        kind="harvest",
        planned_date=harvest,
        status=done,
        done_at=_at(harvest, 9),
    )
    b.new(
        CourseStep,
        **common,
        course=course,
        kind="culture",
        planned_date=harvest + D(1),
        status=done if harvest + D(CULTURE_DAYS) < today else scheduled,
    )
    infusion_steps = [
        b.new(
            CourseStep,
            **common,
            course=course,
            kind="infusion",
            number=n + 1,
            planned_date=day,
            route="iv",
            planned_dose_cells=CELLS_PER_DOSE,
            status=done if day < today else scheduled,
            done_at=_at(day, 11) if day < today else None,
        )
        for n, day in enumerate(infusion_days)
    ]
    return course, infusion_days, infusion_steps


def _donation(
    st: _Story, course: Any, patient: Any, din_seq: dict[int, int]
) -> tuple[_Din, Any, Any]:
    """DIN and chain of identity, the donation and its tissue label (takes the next DIN)."""
    from saisei.processing.isbt128 import build_coi, build_din, build_product_code, parse_din
    from saisei.processing.models import ChainOfIdentity, Donation, LabelPrint
    from saisei.processing.rules import processing_config
    from saisei.processing.services import collection_type_for_cell_source

    b = st.b
    s = st.s
    rng = st.rng
    common = st.common
    harvest = st.harvest
    doctor = st.s.users[Role.PHYSICIAN]
    config = processing_config()
    year = harvest.year
    sequence = din_seq[year]
    din_seq[year] += 1
    din = build_din(facility_id=config.facility_id, year=year, sequence=sequence, check_flags=True)
    coi = build_coi(facility_id=config.facility_id, year=year, sequence=sequence)
    parsed_din = parse_din(text=f"={din.din}{din.flags}")
    b.new(ChainOfIdentity, **common, course=course, patient=patient, coi=coi.content)
    collected = _at(harvest, 9)
    donation = b.new(
        Donation,
        **common,
        created_at=collected,
        patient=patient,
        plan=s.plan,
        facility=s.facility,
        physician=s.physician,
        cell_source="autologous",
        course=course,
        din=din.din,
        din_flags=din.flags,
        coi=coi.content,
        site=s.clinic,
        harvest_site="abdomen",
        tissue_weight_g=Decimal(f"{rng.uniform(2, 8):.2f}"),
        collected_at=collected,
        collector=doctor,
        container="Sterile 50 mL tube",
        transport_conditions="2-8 °C",
        infection_markers=dict.fromkeys(config.required_markers, "negative"),
        received_at=_at(harvest, 13),
        notes="synthetic",
    )
    b.log(collected, doctor, "donation.record", donation, din=din.din, coi=coi.content)
    collection_type = collection_type_for_cell_source("autologous")
    tissue_product = build_product_code(pdc=config.tissue_pdc, collection_type=collection_type)
    tissue_label = b.new(
        LabelPrint,
        **common,
        kind=LabelPrint.Kind.DONATION,
        donation=donation,
        count=2,
        applied=1,
        destroyed=1,
        printed_at=collected - D(minutes=20),
        printed_by=doctor,
        content=_label_content(
            din=parsed_din,
            product_code=tissue_product.code,
            product_code_data=tissue_product.barcode_data,
            division=tissue_product.division,
            expires=collected + D(hours=config.tissue_use_within_hours),
            description="Adipose tissue",
            coi=coi,
            patient=patient,
        ),
    )
    b.log(tissue_label.printed_at, doctor, "label.print", tissue_label, din=din.din, count=2)
    return _Din(config, din, coi, parsed_din, collection_type), donation, tissue_label


def _tissue_custody(st: _Story, donation: Any, tissue_label: Any) -> None:
    """The tissue's custody from collection to the CPC."""
    from saisei.processing.models import CustodyEvent

    b = st.b
    s = st.s
    common = st.common
    harvest = st.harvest
    doctor = st.s.users[Role.PHYSICIAN]
    tech = st.s.users[Role.CPC_TECHNICIAN]
    for stage, giver, taker, hour, temps in (
        ("collection", str(doctor), "Clinic nurse", 9, None),
        ("transport", "Clinic nurse", "Courier", 11, (4.0, 6.5)),
        ("cpc_receipt", "Courier", s.cpc.name, 13, None),
    ):
        event = b.new(
            CustodyEvent,
            **common,
            stage=stage,
            donation=donation,
            from_party=giver,
            to_party=taker,
            place=s.clinic.name if stage != "cpc_receipt" else s.cpc.name,
            occurred_at=_at(harvest, hour),
            recorded_by=doctor if stage == "collection" else tech,
            scanned=tissue_label.content["datamatrix"],
            temperature_min_c=temps[0] if temps else None,
            temperature_max_c=temps[1] if temps else None,
        )
        b.log(event.occurred_at, event.recorded_by, "custody.handover", event, stage=stage)


def _lot(st: _Story, donation: Any, dn: _Din, weight: Decimal) -> tuple[Any, dt.date]:
    """The lot, its culture steps (draws viabilities), passing QC results and its release."""
    from saisei.processing.models import CultureStep, Lot, QCResult, Release

    b, s, rng, common, harvest = st.b, st.s, st.rng, st.common, st.harvest
    tech, qa = st.s.users[Role.CPC_TECHNICIAN], st.s.users[Role.QA_MANAGER]
    config, din, collection_type = dn.config, dn.din, dn.collection_type
    lot = b.new(
        Lot,
        **common,
        created_at=_at(harvest, 15),
        donation=donation,
        number=f"{din.din}-01",
        status=Lot.Status.RELEASED,
        planned_doses=INFUSIONS,
        cells_per_dose=float(CELLS_PER_DOSE),
        dose_volume_ml=50.0,
        patient_weight_kg=float(weight),
        started_on=harvest,
        due_on=harvest + D(CULTURE_DAYS - 7),
        pdc=config.pdc,
        collection_type=collection_type,
    )
    b.log(lot.created_at, tech, "lot.create", lot, number=lot.number, donation=din.din)
    for kind, passage, offset, cells in (
        ("isolation", 0, 0, None),
        ("seeding", 0, 0, 2.4e7),
        ("passage", 1, 9, 4.1e7),
        ("harvest", 2, CULTURE_DAYS - 8, 3.4e8),
    ):
        step = b.new(
            CultureStep,
            **common,
            lot=lot,
            kind=kind,
            passage_number=passage,
            performed_at=_at(harvest + D(offset), 16),
            performed_by=tech,
            cell_count=cells,
            viability_pct=round(rng.uniform(88, 97), 1) if cells else None,
            notes="synthetic",
        )
        b.log(step.performed_at, tech, "culture_step.record", step, lot=lot.number, kind=kind)
    release_day = harvest + D(CULTURE_DAYS - 4)
    for spec in s.specs:
        value = _passing(spec)
        qc = b.new(
            QCResult,
            **common,
            lot=lot,
            test_code=spec.code,
            value=str(value),
            outcome=QCResult.Outcome.PASSED,
            limit_text=spec.limit_text(),
            method="synthetic",
            tested_at=_at(release_day - D(2), 10),
            recorded_by=tech,
        )
        b.log(qc.tested_at, tech, "qc_result.record", qc, lot=lot.number, test=spec.code)
    release = b.new(
        Release,
        **common,
        lot=lot,
        kind=Release.Kind.FULL,
        signed_by=qa,
        signed_at=_at(release_day, 15),
        meaning="SYNTH release for scale tests",
        signature={"synthetic": True},
    )
    b.log(release.signed_at, qa, "lot.release", lot, kind="full")
    b.log(release.signed_at, tech, "lot.divide", lot, bags=INFUSIONS)
    return lot, release_day


def _dose(
    st: _Story,
    lot: Any,
    patient: Any,
    dn: _Din,
    n: int,
    day: dt.date,
    expires: dt.datetime,
    release_day: dt.date,
) -> tuple[Any, Any, Any]:
    """Dose ``n`` of the lot and its label."""
    from saisei.processing.isbt128 import build_product_code, division_code
    from saisei.processing.models import Dose, LabelPrint

    b = st.b
    s = st.s
    today = st.today
    common = st.common
    tech = st.s.users[Role.CPC_TECHNICIAN]
    config, din, coi, parsed_din = dn.config, dn.din, dn.coi, dn.parsed_din
    collection_type = dn.collection_type
    product = build_product_code(
        pdc=config.pdc, collection_type=collection_type, division=division_code(first=n)
    )
    is_given = day < today
    dose = b.new(
        Dose,
        **common,
        lot=lot,
        patient=patient,
        din=din.din,
        coi=coi.content,
        product_code=product.code,
        division=product.division,
        sequence=n,
        status=Dose.Status.ADMINISTERED if is_given else Dose.Status.RELEASED,
        cell_count=float(CELLS_PER_DOSE),
        volume_ml=50.0,
        cryopreserved_at=_at(release_day - D(3), 16),
        expires_at=expires,
        freezer=f"SYNTH-F{s.k}",
        rack=lot.number,
        position=f"{n:02d}",
    )
    label = b.new(
        LabelPrint,
        **common,
        kind=LabelPrint.Kind.DOSE,
        dose=dose,
        count=1,
        applied=1,
        printed_at=_at(release_day - D(3), 15),
        printed_by=tech,
        content=_label_content(
            din=parsed_din,
            product_code=product.code,
            product_code_data=f"=<{product.code}",
            division=product.division,
            expires=expires,
            description="MSC(AT)",
            coi=coi,
            patient=patient,
        ),
    )
    b.log(label.printed_at, tech, "label.print", label, dose=product.code, din=din.din)
    return dose, label, product


def _administer(
    st: _Story, patient: Any, dose: Any, label: Any, product: Any, step: Any, n: int, day: dt.date
) -> Any:
    """A given dose: custody to the bedside, the bedside check and the administration."""
    from saisei.processing.models import CustodyEvent
    from saisei.treatment.models import Administration, BedsideVerification

    b, s, common, code, weight = st.b, st.s, st.common, st.code, patient.weight_kg
    doctor, nurse, tech = (st.s.users[r] for r in (Role.PHYSICIAN, Role.NURSE, Role.CPC_TECHNICIAN))
    scan = label.content["datamatrix"]
    for stage, giver, taker, place, at in (
        ("shipment", s.cpc.name, "Courier", s.cpc.name, _at(day - D(1), 14)),
        ("clinic_receipt", "Courier", s.clinic.name, s.clinic.name, _at(day - D(1), 17)),
        ("bedside", s.clinic.name, str(nurse), s.clinic.name, _at(day, 10, 45)),
    ):
        event = b.new(
            CustodyEvent,
            **common,
            stage=stage,
            dose=dose,
            from_party=giver,
            to_party=taker,
            place=place,
            occurred_at=at,
            recorded_by=nurse if stage != "shipment" else tech,
            scanned=scan,
        )
        b.log(at, event.recorded_by, "custody.handover", event, stage=stage)
    checked = _at(day, 10, 50)
    verification = b.new(
        BedsideVerification,
        **common,
        patient_scan=code,
        product_scans=[scan],
        route="iv",
        course_step=step,
        patient=patient,
        dose=dose,
        checks=[{"check": "identity", "passed": True}],
        passed=True,
        performed_by=nurse,
        performed_at=checked,
    )
    b.log(checked, nurse, "bedside_verification.record", verification, passed=True)
    started = _at(day, 11)
    administration = b.new(
        Administration,
        **common,
        dose=dose,
        verification=verification,
        patient=patient,
        plan=s.plan,
        course_step=step,
        number=n,
        route="iv",
        cells_given=CELLS_PER_DOSE,
        weight_kg=weight,
        cells_per_kg=CELLS_PER_DOSE / float(weight),
        volume_ml=50.0,
        rate_ml_per_hour=100.0,
        started_at=started,
        ended_at=started + D(minutes=30),
        status=Administration.Status.COMPLETED,
        physician=doctor,
        nurse=nurse,
        recorded_by=nurse,
        second_person=doctor,
        second_person_confirmed_at=started,
    )
    dose.administered_at = started
    dose.administration_ref = str(administration.external_id)
    b.log(started, nurse, "administration.record", administration, dose=product.code)
    b.log(started, nurse, "dose.administer", dose, administration=dose.administration_ref)
    return administration


def _doses(
    st: _Story,
    lot: Any,
    patient: Any,
    dn: _Din,
    release_day: dt.date,
    infusion_days: list[dt.date],
    infusion_steps: list[Any],
) -> list[Any]:
    """The doses and their labels; the given ones administered. Returns the administrations."""
    expires = _at(release_day + D(365), 0)
    administrations = []
    for n, day in enumerate(infusion_days, start=1):
        dose, label, product = _dose(st, lot, patient, dn, n, day, expires, release_day)
        if day < st.today:
            step = infusion_steps[n - 1]
            administrations.append(_administer(st, patient, dose, label, product, step, n, day))
    return administrations


def _outcomes(st: _Story, patient: Any, course: Any, infusion_days: list[dt.date]) -> None:
    """Outcomes: baseline, before each infusion, and 3, 6, 12 months after the last one."""
    from saisei.outcomes.instruments import validate_and_score
    from saisei.outcomes.models import Assessment, AssessmentSchedule, ScheduledAssessment

    b = st.b
    s = st.s
    rng = st.rng
    today = st.today
    common = st.common
    code = st.code
    harvest = st.harvest
    doctor = st.s.users[Role.PHYSICIAN]
    schedule = b.new(
        AssessmentSchedule,
        **common,
        course=course,
        patient=patient,
        stage="mild",
        follow_up_months=list(FOLLOW_UP_MONTHS),
        instruments=["MMSE", "CDR"],
    )
    visits: list[tuple[str, int, dt.date, list[str]]] = [
        ("baseline", 1, harvest - D(7), ["MMSE", "CDR"])
    ]
    visits += [("pre_infusion", n, d, ["MMSE"]) for n, d in enumerate(infusion_days, start=1)]
    visits += [
        ("follow_up", n, infusion_days[-1] + D(30 * m), ["MMSE", "CDR"])
        for n, m in enumerate(FOLLOW_UP_MONTHS, start=1)
    ]
    mmse0, slope = rng.randint(18, 27), rng.gauss(-1.5, 1.5)
    for kind, number, due, instruments in visits:
        is_done = due < today
        visit = b.new(
            ScheduledAssessment,
            **common,
            schedule=schedule,
            patient=patient,
            kind=kind,
            number=number,
            due_date=due,
            instruments=instruments,
            status="done" if is_done else "planned",
            completed_on=due if is_done else None,
        )
        if not is_done:
            continue
        years = (due - harvest).days / 365.25
        for instrument in instruments:
            mmse = round(min(30, max(0, mmse0 + slope * years + rng.gauss(0, 1.2))))
            values: dict[str, Any] = (
                {"total": mmse}
                if instrument == "MMSE"
                else {"total": min(18.0, max(0.0, round((30 - mmse) / 2) / 2)), "global": 0.5}
            )
            score = validate_and_score(instrument=instrument, values=values, check_rater=False)
            a = b.new(
                Assessment,
                **common,
                patient=patient,
                course=course,
                visit=visit,
                instrument=instrument,
                assessed_on=due,
                values=values,
                total=score.total,
                subscores=score.subscores,
                measures=score.measures,
                rater=doctor,
                rater_credential=s.credentials[instrument],
            )
            b.log(_at(due, 14), doctor, "assessment.record", a, patient=code, total=score.total)


def _adverse_event(
    st: _Story, patient: Any, lot: Any, administrations: list[Any], ae_seq: dict[int, int]
) -> None:
    """About one patient in eight has an adverse event after the first infusion; one in four of
    those is serious and starts the reporting clocks."""
    from saisei.safety.models import AdverseEvent

    b = st.b
    s = st.s
    rng = st.rng
    today = st.today
    common = st.common
    doctor = st.s.users[Role.PHYSICIAN]
    if administrations and rng.random() < 0.125:
        first = administrations[0]
        serious = rng.random() < 0.25
        aware = first.started_at + D(hours=rng.randint(2, 48))
        year = aware.astimezone(TOKYO).year
        ae_seq[year] = ae_seq.get(year, 0) + 1
        event = b.new(
            AdverseEvent,
            **common,
            created_at=aware,
            number=f"AE-{year}-{ae_seq[year]:04d}",
            patient=patient,
            plan=s.plan,
            administration=first,
            dose=first.dose,
            lot=lot,
            term="SYNTH fever after infusion" if not serious else "SYNTH pneumonia",
            description="Synthetic record for scale tests.",
            onset_date=aware.astimezone(TOKYO).date(),
            aware_at=aware,
            severity_grade=3 if serious else 1,
            hospitalisation=serious,
            related_administration="possible",
            related_cells="possible" if serious else "unlikely",
            outcome="recovered",
            source="staff",
            status="closed" if aware.date() < today - D(60) else "open",
            reporting_level="hospitalisation" if serious else "non_serious",
            recorded_by=doctor,
            assessed_by=doctor,
        )
        b.log(aware, doctor, "adverse_event.record", event, number=event.number)
        _obligations(st, event, aware, serious)


def _obligations(st: _Story, event: Any, aware: dt.datetime, serious: bool) -> None:
    """The reporting obligations a seeded adverse event starts (past ones done)."""
    from saisei.regulatory.models import Obligation
    from saisei.regulatory.rules import reporting_clock
    from saisei.regulatory.services.obligations import KIND_BY_RULE, _english

    b = st.b
    s = st.s
    today = st.today
    common = st.common
    doctor = st.s.users[Role.PHYSICIAN]
    u = st.s.users
    dues = reporting_clock(
        seriousness="hospitalisation" if serious else "non_serious",
        aware_date=aware.astimezone(TOKYO).date(),
        plan_submitted_date=s.plan.first_submitted_date,
    )
    created = []
    for clock_due in dues:
        past = clock_due.due_date < today
        created.append(
            b.new(
                Obligation,
                **common,
                plan=s.plan,
                kind=KIND_BY_RULE.get(clock_due.rule, "adverse_event"),
                recipient=clock_due.recipient.value,
                title=_english(clock_due.rule),
                due_date=clock_due.due_date,
                status="done" if past else "open",
                rule_id=clock_due.rule,
                source=clock_due.source,
                subject_type="safety.adverseevent",
                subject_id=str(event.external_id),
                trigger_date=aware.astimezone(TOKYO).date(),
                done_at=_at(clock_due.due_date - D(2), 12) if past else None,
                done_by=u[Role.COMPLIANCE_OFFICER] if past else None,
                submitted_date=clock_due.due_date - D(2) if past else None,
                evidence="SYNTH receipt" if past else "",
            )
        )
    if created:
        b.log(
            aware,
            doctor,
            "obligation.create",
            s.plan,
            cause="adverse_event",
            obligations=[
                {"rule": o.rule_id, "due_date": o.due_date, "id": str(o.external_id)}
                for o in created
            ],
        )


def _patient_rows(
    b: Batch,
    s: OrgSetup,
    *,
    seed: int,
    i: int,
    today: dt.date,
    din_seq: dict[int, int],
    ae_seq: dict[int, int],
) -> None:
    """One patient's story, inquiry to follow-up; the steps draw from one generator, in order."""
    rng = random.Random(f"{seed}:{s.k}:{i}")
    harvest = today - D(rng.randint(7, 560))
    code = patient_code(seed, s.k, i)
    st = _Story(b, s, rng, seed, i, today, code, harvest, {"organisation": s.org})
    patient, weight = _enrolment(st)
    _prescreen_and_consent(st, patient)
    course, infusion_days, infusion_steps = _course(st, patient)
    dn, donation, tissue_label = _donation(st, course, patient, din_seq)
    _tissue_custody(st, donation, tissue_label)
    lot, release_day = _lot(st, donation, dn, weight)
    administrations = _doses(st, lot, patient, dn, release_day, infusion_days, infusion_steps)
    _outcomes(st, patient, course, infusion_days)
    _adverse_event(st, patient, lot, administrations, ae_seq)
