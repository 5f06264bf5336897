"""A synthetic national network for scale tests: ``saisei seed --patients N``.

Organisations, their registry and a plan in force are built through the services (a handful of
rows). Patients and everything that follows them (inquiry to follow-up) are built in memory and
written with ``bulk_create`` in batches, together with the audit-ledger entries the services
would have written, chained in bulk by ``chain_append`` so ``saisei audit verify`` passes.

Every name and code says it is synthetic: organisations are "SYNTH …" with slugs
``synth-s<seed>-o<k>``, patients are family name ``SYNTH`` with codes starting ``S``, e-mail
addresses end in ``.invalid``. A patient's data depends only on (seed, organisation, index),
so a run stopped half-way resumes where it stopped and a second run adds nothing.

This module composes every app, like ``saisei.api``; it lives outside the app layers.
Row history (django-simple-history) is not written for seeded rows: they have no history.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from django.db import models, transaction
from django.utils import timezone

from saisei.core import audit
from saisei.core import services as core_services
from saisei.core.models import AuditChainHead, AuditEntry, Organisation, Role, Site, User
from saisei.core.timezones import TOKYO

D = dt.timedelta
SYNTH_PASSWORD = "saisei-synthetic-2026"
INFUSIONS = 3
INTERVAL_DAYS = 28
CULTURE_DAYS = 35
CELLS_PER_DOSE = 100_000_000
FOLLOW_UP_MONTHS = (3, 6, 12)
STAFF_ROLES = (
    Role.COORDINATOR,
    Role.PHYSICIAN,
    Role.NURSE,
    Role.CPC_TECHNICIAN,
    Role.QA_MANAGER,
    Role.COMPLIANCE_OFFICER,
    Role.ORG_ADMIN,
)


def org_slug(seed: int, k: int) -> str:
    return f"synth-s{seed}-o{k}"


def patient_code(seed: int, k: int, i: int) -> str:
    return f"S{seed}-{k}-{i:06d}"


# --- the audit chain, in bulk ------------------------------------------------------------------


@dataclass
class Draft:
    """One ledger entry as a service would have written it, before it is chained."""

    at: dt.datetime
    actor: User | None
    action: str
    subject_type: str
    subject_id: str
    changes: dict[str, Any]


def chain_append(organisation: Organisation, drafts: list[Draft]) -> int:
    """Append drafts to the organisation's chain, hashed with ``audit.compute_hash``.

    The one place the seed touches the chain: it locks the head like ``audit_record`` does, so
    writers running alongside never fork the chain. Call inside a transaction.
    """
    if not drafts:
        return 0
    head, _ = AuditChainHead.objects.get_or_create(organisation=organisation)
    head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
    seq, prev = head.last_seq, head.last_hash or audit.GENESIS
    entries = []
    for d in drafts:
        seq += 1
        entry = AuditEntry(
            organisation=organisation,
            seq=seq,
            at=d.at,
            actor=d.actor,
            actor_label=d.actor.username if d.actor is not None else "system",
            action=d.action,
            subject_type=d.subject_type,
            subject_id=d.subject_id,
            reason="",
            request_id="seed",
            client_ip=None,
            changes=audit._json_safe(d.changes),
            prev_hash=prev,
        )
        entry.entry_hash = audit.compute_hash(entry)
        prev = entry.entry_hash
        entries.append(entry)
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    head.last_seq, head.last_hash = seq, prev
    head.save(update_fields=["last_seq", "last_hash"])
    return len(entries)


# --- the network: organisations, registry, plans (through the services) ----------------------


@dataclass
class OrgSetup:
    k: int
    org: Organisation
    clinic: Site
    cpc: Site
    users: dict[str, User]
    plan: Any
    version: Any
    institution: Any
    facility: Any
    physician: Any
    package: Any
    consent_doc: Any
    credentials: dict[str, Any]
    specs: list[Any] = field(default_factory=list)


def _user(org: Organisation, role: str, k: int, seed: int) -> User:
    username = f"synth-s{seed}-o{k}-{role}"
    user = User.objects.filter(username=username).first()
    return user or core_services.user_create(
        actor=None,
        organisation=org,
        username=username,
        password=SYNTH_PASSWORD,
        roles=[role],
        display_name=f"SYNTH {role.replace('_', ' ')} {k}",
        email=f"{username}@synthetic.saisei.invalid",
        validate=False,
    )


def _network(seed: int, k: int, today: dt.date) -> OrgSetup:
    """One synthetic clinic group with its CPC, registry, a plan in force and its package."""
    from saisei.journey import services as journey
    from saisei.journey.models import ConsentDocument, TreatmentPackage
    from saisei.outcomes import services as outcomes
    from saisei.outcomes.models import RaterCredential
    from saisei.processing.services import lot_specifications
    from saisei.regulatory import services as reg
    from saisei.regulatory.models import (
        CertifiedCommittee,
        MedicalInstitution,
        Obligation,
        Physician,
        ProcessingFacility,
        ProvisionPlan,
    )

    slug = org_slug(seed, k)
    org = Organisation.objects.filter(slug=slug).first() or core_services.organisation_create(
        actor=None,
        name=f"SYNTH Clinic Group {seed}-{k}",
        slug=slug,
        kind=Organisation.Kind.CLINIC_GROUP,
    )

    def site(name: str, kind: str) -> Site:
        return Site.objects.filter(
            organisation=org, name=name
        ).first() or core_services.site_create(
            actor=None, organisation=org, name=name, kind=kind, address="Synthetic address"
        )

    clinic = site(f"SYNTH Clinic {seed}-{k}", Site.Kind.MEDICAL_INSTITUTION)
    cpc = site(f"SYNTH CPC {seed}-{k}", Site.Kind.CELL_PROCESSING_FACILITY)
    users = {role: _user(org, role, k, seed) for role in STAFF_ROLES}
    officer = users[Role.COMPLIANCE_OFFICER]
    institution = MedicalInstitution.objects.filter(site=clinic).first() or reg.institution_create(
        actor=officer,
        site=clinic,
        name=f"SYNTH Clinic {seed}-{k}",
        administrator_name=f"SYNTH Administrator {k}",
        address="Synthetic address",
    )
    committee = CertifiedCommittee.objects.filter(organisation=org).first() or reg.committee_create(
        actor=officer,
        name=f"SYNTH Committee {seed}-{k}",
        kind=CertifiedCommittee.Kind.SPECIALLY_CERTIFIED,
        certification_number=f"SYN{seed}{k:04d}",
    )
    facility = ProcessingFacility.objects.filter(organisation=org).first() or reg.facility_create(
        actor=officer,
        name=f"SYNTH CPC {seed}-{k}",
        authorisation=ProcessingFacility.Authorisation.NOTIFIED,
        facility_number=f"SYNF{seed}{k:04d}",
        manager_name=f"SYNTH Manager {k}",
        valid_from=today - D(900),
        site=cpc,
    )
    doctor = users[Role.PHYSICIAN]
    physician = Physician.objects.filter(user=doctor).first() or reg.physician_create(
        actor=officer,
        user=doctor,
        name=f"SYNTH Physician {k}",
        licence_number=f"S{seed}{k:05d}",
        institution=institution,
    )
    plan = ProvisionPlan.objects.filter(organisation=org).first()
    if plan is None:
        plan = reg.plan_create(
            actor=officer,
            institution=institution,
            title=f"SYNTH autologous adipose MSC for Alzheimer's disease ({seed}-{k})",
            committee=committee,
            physicians=[physician],
            facilities=[facility],
            cell_origin="autologous",
            cell_type="somatic_stem",
            tissue="adipose (abdominal subcutaneous)",
            cultured=True,
            documents_complete=True,
            target_disease="Alzheimer's disease (synthetic)",
            routes=["iv"],
            dose_min_cells=CELLS_PER_DOSE,
            dose_max_cells=3 * CELLS_PER_DOSE,
            max_administrations=10,
            consent_document_versions=["ICF-SYNTH 1.0"],
            administrator_name=f"SYNTH Administrator {k}",
            contact_person="SYNTH office",
            contact_email=f"office-{slug}@synthetic.saisei.invalid",
        )
        version = plan.versions.get()
        for name, days_ago, extra in (
            ("submit_for_review", 800, {}),
            ("record_favourable_opinion", 790, {}),
            ("submit_to_authority", 780, {"reception_number": f"R-SYN-{seed}-{k}"}),
            ("record_acceptance", 770, {"plan_number": f"PSYN{seed}{k:04d}"}),
        ):
            version.refresh_from_db()
            reg.plan_transition(
                actor=officer,
                version=version,
                name=name,
                effective_date=today - D(days_ago),
                **extra,
            )
        plan.refresh_from_db()
        for ob in Obligation.objects.open().filter(plan=plan, due_date__lt=today):
            reg.obligation_mark_done(
                actor=officer,
                obligation=ob,
                submitted_date=ob.due_date - D(5),
                evidence=f"SYNTH receipt {ob.due_date:%Y%m%d}",
            )
        for ob in Obligation.objects.open().filter(facility=facility, due_date__lt=today):
            reg.obligation_mark_done(
                actor=officer,
                obligation=ob,
                submitted_date=ob.due_date - D(5),
                evidence=f"SYNTH receipt {ob.due_date:%Y%m%d}",
            )
    version = journey.plan_version_in_force(plan=plan, day=today)
    package = TreatmentPackage.objects.filter(plan=plan).first() or journey.package_create(
        actor=users[Role.COORDINATOR],
        plan=plan,
        code="SYNTH-IV-3",
        name="SYNTH adipose MSC, three IV infusions four weeks apart",
        infusions=INFUSIONS,
        interval_days=INTERVAL_DAYS,
        culture_days=CULTURE_DAYS,
        dose_cells=CELLS_PER_DOSE,
        follow_up_months=list(FOLLOW_UP_MONTHS),
    )
    doc = ConsentDocument.objects.filter(plan_version=version).first()
    if doc is None:
        doc = journey.consent_document_create(
            actor=doctor,
            plan_version=version,
            language="en",
            version="1.0",
            title="SYNTH explanation and consent",
            body="Synthetic consent document for scale tests; not for patients.",
            effective_from=today - D(770),
        )
    credentials = {}
    for code in ("MMSE", "CDR"):
        cred = RaterCredential.objects.filter(user=doctor, instrument=code).first()
        credentials[code] = cred or outcomes.credential_record(
            actor=users[Role.ORG_ADMIN],
            user=doctor,
            instrument=code,
            kind="licence",
            reference=f"SYNTH-{code}-{k}",
            holder=f"SYNTH Clinic Group {seed}-{k}",
            valid_from=today - D(900),
            expires_on=today + D(365),
        )
    setup = OrgSetup(
        k=k,
        org=org,
        clinic=clinic,
        cpc=cpc,
        users=users,
        plan=plan,
        version=version,
        institution=institution,
        facility=facility,
        physician=physician,
        package=package,
        consent_doc=doc,
        credentials=credentials,
    )
    from saisei.processing.models import Lot

    probe = Lot(
        organisation=org,
        route="iv",
        planned_doses=INFUSIONS,
        cells_per_dose=float(CELLS_PER_DOSE),
        dose_volume_ml=50.0,
        patient_weight_kg=60.0,
    )
    setup.specs = [
        s for s in lot_specifications(lot=probe) if s.required_for_release and s.stage == "release"
    ]
    return setup


# --- patients, in bulk -----------------------------------------------------------------------


class Batch:
    """Rows of one batch of patients, per model, in the order they must be written."""

    def __init__(self) -> None:
        self.rows: dict[type[models.Model], list[models.Model]] = {}
        self.drafts: list[Draft] = []

    def add(self, obj: models.Model) -> Any:
        self.rows.setdefault(type(obj), []).append(obj)
        return obj

    def log(
        self, at: dt.datetime, actor: User | None, action: str, subject: Any, **changes: Any
    ) -> None:
        subject_type, subject_id = audit._subject_parts(subject)
        self.drafts.append(Draft(at, actor, action, subject_type, subject_id, changes))

    def write(self, order: list[type[models.Model]]) -> int:
        n = 0
        for model in order:
            objs = self.rows.get(model, [])
            # bulk_create copies the keys of parents written earlier in the batch into the
            # children's foreign keys; the models are written parents first.
            model.objects.bulk_create(objs, batch_size=500)
            n += len(objs)
        return n


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
) -> dict[str, str]:
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
    from saisei.journey.models import (
        Consent,
        CourseStep,
        Inquiry,
        Patient,
        Prescreen,
        TreatmentCourse,
    )
    from saisei.outcomes.instruments import validate_and_score
    from saisei.outcomes.models import Assessment, AssessmentSchedule, ScheduledAssessment
    from saisei.processing.isbt128 import (
        build_coi,
        build_din,
        build_product_code,
        division_code,
        parse_din,
    )
    from saisei.processing.models import (
        ChainOfIdentity,
        CultureStep,
        CustodyEvent,
        Donation,
        Dose,
        LabelPrint,
        Lot,
        QCResult,
        Release,
    )
    from saisei.processing.rules import processing_config
    from saisei.processing.services import collection_type_for_cell_source
    from saisei.regulatory.models import Obligation
    from saisei.regulatory.rules import reporting_clock
    from saisei.regulatory.services.obligations import KIND_BY_RULE, _english
    from saisei.safety.models import AdverseEvent
    from saisei.treatment.models import Administration, BedsideVerification

    rng = random.Random(f"{seed}:{s.k}:{i}")
    org, u = s.org, s.users
    coordinator, doctor, nurse = u[Role.COORDINATOR], u[Role.PHYSICIAN], u[Role.NURSE]
    tech, qa = u[Role.CPC_TECHNICIAN], u[Role.QA_MANAGER]
    common = {"organisation": org}
    harvest = today - D(rng.randint(7, 560))
    code = patient_code(seed, s.k, i)
    sex = rng.choice(["female", "male"])
    dob = dt.date(rng.randint(1940, 1966), rng.randint(1, 12), rng.randint(1, 28))
    weight = Decimal(f"{rng.uniform(45, 90):.1f}")
    language = rng.choice(["en", "en", "ja", "zh-hans"])

    inquiry_at = _at(harvest - D(75), 10)
    inquiry = b.add(
        Inquiry(
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
    )
    b.log(inquiry_at, None, "inquiry.submit", inquiry, reference=inquiry.reference)
    enrolled_at = _at(harvest - D(50), 11)
    patient = b.add(
        Patient(
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
    )
    b.log(enrolled_at, coordinator, "patient.enrol", patient, patient_code=code)
    prescreen_at = _at(harvest - D(45), 14)
    prescreen = b.add(
        Prescreen(
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
    )
    b.log(prescreen_at, doctor, "prescreen.record", prescreen, outcome="eligible")
    b.log(prescreen_at, doctor, "prescreen.decide", prescreen, decision="eligible")
    consent_at = _at(harvest - D(30), 10)
    consent = b.add(
        Consent(
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
    )
    b.log(consent_at, doctor, "consent.give", consent, patient=code)

    infusion_days = [harvest + D(CULTURE_DAYS + INTERVAL_DAYS * n) for n in range(INFUSIONS)]
    given = [day for day in infusion_days if day < today]
    course = b.add(
        TreatmentCourse(
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
    )
    b.log(course.created_at, coordinator, "course.instantiate", course, plan=s.plan.plan_number)
    done, scheduled = CourseStep.Status.DONE, CourseStep.Status.SCHEDULED
    b.add(
        CourseStep(
            **common,
            course=course,
            kind="harvest",
            planned_date=harvest,
            status=done,
            done_at=_at(harvest, 9),
        )
    )
    b.add(
        CourseStep(
            **common,
            course=course,
            kind="culture",
            planned_date=harvest + D(1),
            status=done if harvest + D(CULTURE_DAYS) < today else scheduled,
        )
    )
    infusion_steps = [
        b.add(
            CourseStep(
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
        )
        for n, day in enumerate(infusion_days)
    ]

    config = processing_config()
    year = harvest.year
    sequence = din_seq[year]
    din_seq[year] += 1
    din = build_din(facility_id=config.facility_id, year=year, sequence=sequence, check_flags=True)
    coi = build_coi(facility_id=config.facility_id, year=year, sequence=sequence)
    parsed_din = parse_din(text=f"={din.din}{din.flags}")
    b.add(ChainOfIdentity(**common, course=course, patient=patient, coi=coi.content))
    collected = _at(harvest, 9)
    donation = b.add(
        Donation(
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
    )
    b.log(collected, doctor, "donation.record", donation, din=din.din, coi=coi.content)
    collection_type = collection_type_for_cell_source("autologous")
    tissue_product = build_product_code(pdc=config.tissue_pdc, collection_type=collection_type)
    tissue_label = b.add(
        LabelPrint(
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
    )
    b.log(tissue_label.printed_at, doctor, "label.print", tissue_label, din=din.din, count=2)
    for stage, giver, taker, hour, temps in (
        ("collection", str(doctor), "Clinic nurse", 9, None),
        ("transport", "Clinic nurse", "Courier", 11, (4.0, 6.5)),
        ("cpc_receipt", "Courier", s.cpc.name, 13, None),
    ):
        event = b.add(
            CustodyEvent(
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
        )
        b.log(event.occurred_at, event.recorded_by, "custody.handover", event, stage=stage)

    lot = b.add(
        Lot(
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
    )
    b.log(lot.created_at, tech, "lot.create", lot, number=lot.number, donation=din.din)
    for kind, passage, offset, cells in (
        ("isolation", 0, 0, None),
        ("seeding", 0, 0, 2.4e7),
        ("passage", 1, 9, 4.1e7),
        ("harvest", 2, CULTURE_DAYS - 8, 3.4e8),
    ):
        step = b.add(
            CultureStep(
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
        )
        b.log(step.performed_at, tech, "culture_step.record", step, lot=lot.number, kind=kind)
    release_day = harvest + D(CULTURE_DAYS - 4)
    for spec in s.specs:
        value = _passing(spec)
        qc = b.add(
            QCResult(
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
        )
        b.log(qc.tested_at, tech, "qc_result.record", qc, lot=lot.number, test=spec.code)
    release = b.add(
        Release(
            **common,
            lot=lot,
            kind=Release.Kind.FULL,
            signed_by=qa,
            signed_at=_at(release_day, 15),
            meaning="SYNTH release for scale tests",
            signature={"synthetic": True},
        )
    )
    b.log(release.signed_at, qa, "lot.release", lot, kind="full")
    b.log(release.signed_at, tech, "lot.divide", lot, bags=INFUSIONS)

    expires = _at(release_day + D(365), 0)
    administrations = []
    for n, day in enumerate(infusion_days, start=1):
        product = build_product_code(
            pdc=config.pdc, collection_type=collection_type, division=division_code(first=n)
        )
        is_given = day < today
        dose = b.add(
            Dose(
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
        )
        label = b.add(
            LabelPrint(
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
        )
        b.log(label.printed_at, tech, "label.print", label, dose=product.code, din=din.din)
        if not is_given:
            continue
        scan = label.content["datamatrix"]
        for stage, giver, taker, place, at in (
            ("shipment", s.cpc.name, "Courier", s.cpc.name, _at(day - D(1), 14)),
            ("clinic_receipt", "Courier", s.clinic.name, s.clinic.name, _at(day - D(1), 17)),
            ("bedside", s.clinic.name, str(nurse), s.clinic.name, _at(day, 10, 45)),
        ):
            event = b.add(
                CustodyEvent(
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
            )
            b.log(at, event.recorded_by, "custody.handover", event, stage=stage)
        checked = _at(day, 10, 50)
        verification = b.add(
            BedsideVerification(
                **common,
                patient_scan=code,
                product_scans=[scan],
                route="iv",
                course_step=infusion_steps[n - 1],
                patient=patient,
                dose=dose,
                checks=[{"check": "identity", "passed": True}],
                passed=True,
                performed_by=nurse,
                performed_at=checked,
            )
        )
        b.log(checked, nurse, "bedside_verification.record", verification, passed=True)
        started = _at(day, 11)
        administration = b.add(
            Administration(
                **common,
                dose=dose,
                verification=verification,
                patient=patient,
                plan=s.plan,
                course_step=infusion_steps[n - 1],
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
        )
        dose.administered_at = started
        dose.administration_ref = str(administration.external_id)
        administrations.append(administration)
        b.log(started, nurse, "administration.record", administration, dose=product.code)
        b.log(started, nurse, "dose.administer", dose, administration=dose.administration_ref)

    # Outcomes: baseline, before each infusion, and 3, 6, 12 months after the last one.
    schedule = b.add(
        AssessmentSchedule(
            **common,
            course=course,
            patient=patient,
            stage="mild",
            follow_up_months=list(FOLLOW_UP_MONTHS),
            instruments=["MMSE", "CDR"],
        )
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
        visit = b.add(
            ScheduledAssessment(
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
            a = b.add(
                Assessment(
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
            )
            b.log(_at(due, 14), doctor, "assessment.record", a, patient=code, total=score.total)

    # About one patient in eight has an adverse event after the first infusion; one in four of
    # those is serious and starts the reporting clocks.
    if administrations and rng.random() < 0.125:
        first = administrations[0]
        serious = rng.random() < 0.25
        aware = first.started_at + D(hours=rng.randint(2, 48))
        year = aware.astimezone(TOKYO).year
        ae_seq[year] = ae_seq.get(year, 0) + 1
        event = b.add(
            AdverseEvent(
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
        )
        b.log(aware, doctor, "adverse_event.record", event, number=event.number)
        dues = reporting_clock(
            seriousness="hospitalisation" if serious else "non_serious",
            aware_date=aware.astimezone(TOKYO).date(),
            plan_submitted_date=s.plan.first_submitted_date,
        )
        created = []
        for due in dues:
            past = due.due_date < today
            created.append(
                b.add(
                    Obligation(
                        **common,
                        plan=s.plan,
                        kind=KIND_BY_RULE.get(due.rule, "adverse_event"),
                        recipient=due.recipient.value,
                        title=_english(due.rule),
                        due_date=due.due_date,
                        status="done" if past else "open",
                        rule_id=due.rule,
                        source=due.source,
                        subject_type="safety.adverseevent",
                        subject_id=str(event.external_id),
                        trigger_date=aware.astimezone(TOKYO).date(),
                        done_at=_at(due.due_date - D(2), 12) if past else None,
                        done_by=u[Role.COMPLIANCE_OFFICER] if past else None,
                        submitted_date=due.due_date - D(2) if past else None,
                        evidence="SYNTH receipt" if past else "",
                    )
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


def _existing(setup: OrgSetup) -> int:
    from saisei.journey.models import Patient

    return Patient.objects.filter(organisation=setup.org, patient_code__startswith="S").count()


def _ae_numbers(org: Organisation) -> dict[int, int]:
    """The last event number used per year (AE-YYYY-NNNN), so seeded events continue it."""
    from saisei.safety.models import AdverseEvent

    last: dict[int, int] = {}
    for number in AdverseEvent.objects.filter(organisation=org).values_list("number", flat=True):
        parts = number.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            year, n = int(parts[1]), int(parts[2])
            last[year] = max(last.get(year, 0), n)
    return last


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.done, self.out, self.start = total, 0, out, time.monotonic()

    def step(self, n: int) -> None:
        self.done += n
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self.start
        self.out.write(
            f"\rseed [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done}/{self.total} patients, {elapsed:.0f} s"
        )
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")


@dataclass
class SeedResult:
    organisations: int
    patients_added: int
    rows: int
    audit_entries: int
    seconds: float


def seed(
    *,
    patients: int,
    organisations: int = 1,
    seed: int = 1,
    batch_size: int = 250,
    progress: TextIO | None = None,
    today: dt.date | None = None,
) -> SeedResult:
    """Fill the database with ``patients`` synthetic patients over ``organisations`` clinics."""
    if patients < 0 or organisations < 1:
        raise ValueError("patients must be >= 0 and organisations >= 1")
    started = time.monotonic()
    today = today or timezone.localdate()
    order = _models()
    per_org = [
        patients // organisations + (1 if k < patients % organisations else 0)
        for k in range(organisations)
    ]
    bar = Progress(patients, progress or sys.stderr)
    added = rows = entries = 0
    for k, wanted in enumerate(per_org, start=1):
        setup = _network(seed, k, today)
        have = _existing(setup)
        bar.step(min(have, wanted))
        ae_seq = _ae_numbers(setup.org)
        for lo in range(have, wanted, batch_size):
            hi = min(wanted, lo + batch_size)
            with transaction.atomic():
                din_seq = _din_blocks(setup, seed, lo, hi, today)
                b = Batch()
                for i in range(lo, hi):
                    _patient_rows(
                        b, setup, seed=seed, i=i + 1, today=today, din_seq=din_seq, ae_seq=ae_seq
                    )
                rows += b.write(order)
                entries += chain_append(setup.org, b.drafts)
            added += hi - lo
            bar.step(hi - lo)
    bar.finish()
    return SeedResult(organisations, added, rows, entries, time.monotonic() - started)


def _din_blocks(setup: OrgSetup, seed: int, lo: int, hi: int, today: dt.date) -> dict[int, int]:
    """Reserve the DIN numbers a batch will use, per collection year (a harvest's year)."""
    from saisei.processing.rules import processing_config

    years: dict[int, int] = {}
    for i in range(lo + 1, hi + 1):
        rng = random.Random(f"{seed}:{setup.k}:{i}")
        year = (today - D(rng.randint(7, 560))).year
        years[year] = years.get(year, 0) + 1
    facility_id = processing_config().facility_id
    return {y: _reserve_din_numbers(facility_id, y, n) for y, n in years.items()}
