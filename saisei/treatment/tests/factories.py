"""A treatable world for bedside tests: plan in force, consent, course, released lot, thawed doses."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from saisei.core.tests.factories import SiteFactory, UserFactory
from saisei.journey.tests.factories import (
    ConsentDocumentFactory,
    ConsentFactory,
    CourseStepFactory,
    PatientFactory,
    TreatmentCourseFactory,
)
from saisei.processing import models as pm
from saisei.processing.isbt128 import build_coi, build_din, build_product_code
from saisei.regulatory import models as rm
from saisei.regulatory.tests.factories import (
    FacilityFactory,
    InstitutionFactory,
    PhysicianFactory,
    PlanFactory,
    VersionFactory,
)

PDC = "S1234"
DIVISIONS = ("A0", "B0", "C0", "D0", "E0")
_seq = iter(range(1, 999_999))


def make_world(
    org: Any, *, doses: int = 3, weight_kg: float = 60.0, base: SimpleNamespace | None = None
) -> SimpleNamespace:
    """Everything a verified infusion needs, in ``org``; dose 1 is thawed and usable for 4 hours.

    With ``base``, a second patient is treated under the same plan, clinic and staff.
    """
    today = timezone.localdate()
    if base is not None:
        return _patient_world(org, base=base, doses=doses, weight_kg=weight_kg, today=today)
    site = SiteFactory(organisation=org, kind="medical_institution")
    institution = InstitutionFactory(organisation=org, site=site)
    physician = PhysicianFactory(organisation=org, institution=institution)
    facility = FacilityFactory(organisation=org)
    plan = PlanFactory(
        organisation=org,
        institution=institution,
        status=rm.PlanState.IN_FORCE,
        risk_class=2,
        first_submitted_date=today - dt.timedelta(days=200),
        first_accepted_date=today - dt.timedelta(days=190),
        plan_number="PB3000001",
    )
    version = VersionFactory(
        plan=plan,
        organisation=org,
        number=1,
        state=rm.PlanState.IN_FORCE,
        submitted_date=today - dt.timedelta(days=200),
        accepted_date=today - dt.timedelta(days=190),
        in_force_from=today - dt.timedelta(days=190),
        routes=["iv"],
        dose_min_cells=100_000_000,
        dose_max_cells=300_000_000,
        max_administrations=5,
    )
    version.physicians.add(physician)
    version.facilities.add(facility)
    nurse = UserFactory(organisation=org, roles=["nurse"])
    nurse2 = UserFactory(organisation=org, roles=["nurse"])
    base = SimpleNamespace(
        org=org,
        site=site,
        institution=institution,
        physician=physician,
        physician_user=physician.user,
        nurse=nurse,
        nurse2=nurse2,
        facility=facility,
        plan=plan,
        version=version,
    )
    return _patient_world(org, base=base, doses=doses, weight_kg=weight_kg, today=today)


def _patient_world(
    org: Any, *, base: SimpleNamespace, doses: int, weight_kg: float, today: dt.date
) -> SimpleNamespace:
    version = base.version
    patient = PatientFactory(
        organisation=org,
        weight_kg=weight_kg,
        status="enrolled",
        diagnosis_code="alzheimers_disease",
    )
    if not hasattr(base, "consent_document"):
        base.consent_document = ConsentDocumentFactory(plan_version=version, organisation=org)
    consent = ConsentFactory(
        organisation=org,
        patient=patient,
        document=base.consent_document,
        plan_version=version,
        signed_at=timezone.now() - dt.timedelta(days=30),
    )
    made = _course_and_doses(org, base=base, patient=patient, doses=doses, weight_kg=weight_kg)
    shared = {
        k: getattr(base, k)
        for k in [
            "org",
            "site",
            "institution",
            "physician",
            "physician_user",
            "nurse",
            "nurse2",
            "facility",
            "plan",
            "version",
        ]
    }
    shared["consent_document"] = base.consent_document
    return SimpleNamespace(
        **shared,
        patient=patient,
        consent=consent,
        **made,
        wristband=patient.patient_code,
    )


def add_course(world: SimpleNamespace, *, doses: int = 3) -> SimpleNamespace:
    """A further treatment course of the same patient, with its own harvest, lot and doses."""
    made = _course_and_doses(
        world.org,
        base=world,
        patient=world.patient,
        doses=doses,
        weight_kg=float(world.patient.weight_kg),
    )
    return SimpleNamespace(**{**vars(world), **made})


def _course_and_doses(
    org: Any, *, base: SimpleNamespace, patient: Any, doses: int, weight_kg: float
) -> dict[str, Any]:
    """A course with scheduled infusions, its chain-of-identity id, a donation, a released lot
    and its doses (dose 1 thawed)."""
    today = timezone.localdate()
    plan, physician, facility, site = base.plan, base.physician, base.facility, base.site
    course = TreatmentCourseFactory(
        organisation=org,
        patient=patient,
        plan=plan,
        physician=physician,
        facility=facility,
        status="in_progress",
    )
    steps = [
        CourseStepFactory(
            course=course,
            kind="infusion",
            number=n,
            planned_date=today + dt.timedelta(days=14 * (n - 1)),
            route="iv",
            planned_dose_cells=200_000_000,
            status="scheduled",
        )
        for n in range(1, doses + 1)
    ]
    number = next(_seq)
    din = build_din(facility_id="A9999", year=2026, sequence=number)
    coi = build_coi(facility_id="A9999", year=2026, sequence=number)
    pm.ChainOfIdentity.objects.create(
        organisation=org, course=course, patient=patient, coi=coi.content
    )
    donation = pm.Donation.objects.create(
        organisation=org,
        patient=patient,
        course=course,
        plan=plan,
        facility=facility,
        physician=physician,
        cell_source="autologous",
        din=din.din,
        coi=coi.content,
        site=site,
        harvest_site="abdomen",
        tissue_weight_g=20,
        collected_at=timezone.now() - dt.timedelta(days=40),
        collector=physician.user,
        container="sterile pot",
    )
    lot = pm.Lot.objects.create(
        organisation=org,
        donation=donation,
        number=f"L{number:06d}",
        status="released",
        route="iv",
        planned_doses=doses,
        cells_per_dose=200_000_000,
        dose_volume_ml=50,
        patient_weight_kg=weight_kg,
        started_on=today - dt.timedelta(days=35),
        pdc=PDC,
    )
    now = timezone.now()
    dose_rows = []
    labels = []
    for n in range(1, doses + 1):
        product = build_product_code(pdc=PDC, collection_type="1", division=DIVISIONS[n - 1])
        thawed = n == 1
        dose_rows.append(
            pm.Dose.objects.create(
                organisation=org,
                lot=lot,
                patient=patient,
                din=din.din,
                coi=coi.content,
                product_code=f"{product.pdc}{product.collection_type}{product.division}",
                division=product.division,
                sequence=n,
                status="thawed" if thawed else "released",
                cell_count=200_000_000,
                volume_ml=50,
                expires_at=now + dt.timedelta(days=300),
                thawed_at=now - dt.timedelta(minutes=20) if thawed else None,
                post_thaw_viability_pct=92.0 if thawed else None,
                use_by=now + dt.timedelta(hours=4) if thawed else None,
            )
        )
        labels.append(din.barcode_data + product.barcode_data)
    return {
        "course": course,
        "steps": steps,
        "donation": donation,
        "lot": lot,
        "doses": dose_rows,
        "labels": labels,
        "coi": coi.content,
        "wristband_coi": coi.barcode_data,
    }


def thaw(dose: Any, *, minutes_ago: int = 10, use_by_hours: float = 4) -> Any:
    """Put a dose in the thawed state (the CPC/clinic thaw record, simplified for tests)."""
    now = timezone.now()
    dose.status = "thawed"
    dose.thawed_at = now - dt.timedelta(minutes=minutes_ago)
    dose.post_thaw_viability_pct = 90.0
    dose.use_by = now + dt.timedelta(hours=use_by_hours)
    dose.save()
    return dose
