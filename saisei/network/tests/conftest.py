"""A facilitator with two partner clinics (each with its own plan in force), and one family."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from saisei.core.tests.factories import OrganisationFactory, UserFactory
from saisei.journey import services as journey_services
from saisei.journey.models import Inquiry, InquiryFile, Patient, PortalAccess
from saisei.network import services
from saisei.regulatory.tests.factories import (
    CommitteeFactory,
    FacilityFactory,
    InstitutionFactory,
    PhysicianFactory,
    PlanFactory,
    VersionFactory,
)

FIELDS = ["patient_name", "patient_date_of_birth", "diagnosis", "cognitive_scores", "country"]


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def make_clinic(slug: str, name: str, plan_number: str, culture_days: int) -> dict[str, Any]:
    today = timezone.localdate()
    org = OrganisationFactory(slug=slug, name=name, kind="clinic_group", country="JP")
    staff = UserFactory(organisation=org, username=f"{slug}-coord", roles=["coordinator"])
    institution = InstitutionFactory(organisation=org, name=f"{name} Tokyo")
    doctor = PhysicianFactory(
        organisation=org,
        user=UserFactory(organisation=org, roles=["physician"]),
        name="Dr. A",
        institution=institution,
    )
    plan = PlanFactory(
        organisation=org, institution=institution, plan_number=plan_number, status="in_force"
    )
    version = VersionFactory(
        plan=plan,
        organisation=org,
        number=1,
        state="in_force",
        in_force_from=today - dt.timedelta(days=200),
        committee=CommitteeFactory(organisation=org),
    )
    version.physicians.add(doctor)
    version.facilities.add(FacilityFactory(organisation=org, facility_number=f"F{plan_number}"))
    package = journey_services.package_create(
        actor=staff,
        plan=plan,
        code="ALZ",
        name="Infusions",
        infusions=4,
        interval_days=28,
        culture_days=culture_days,
        dose_cells=100_000_000,
    )
    price_list = journey_services.price_list_create(
        actor=staff,
        institution=institution,
        name="2026",
        valid_from=today - dt.timedelta(days=30),
        valid_until=today + dt.timedelta(days=300),
        prices={
            "consultation": 30_000,
            "tests": 50_000,
            "harvest": 300_000,
            "culture_processing": 1_200_000,
            "infusion": 800_000,
            "follow_up": 20_000,
        },
    )
    return {
        "org": org,
        "staff": staff,
        "plan": plan,
        "package": package,
        "price_list": price_list,
    }


@pytest.fixture
def net(db: Any) -> dict[str, Any]:
    today = timezone.localdate()
    fac = OrganisationFactory(slug="bridge", name="Bridge Care", kind="facilitator", country="CN")
    admin = UserFactory(organisation=fac, username="bridge-admin", roles=["org_admin"])
    coord = UserFactory(organisation=fac, username="bridge-coord", roles=["coordinator"])
    a = make_clinic("clinic-a", "Clinic A", "PB3260001", 35)
    b = make_clinic("clinic-b", "Clinic B", "PB3260002", 21)
    agreements = {}
    for key, clinic, pct in (("a", a, Decimal("10")), ("b", b, Decimal("15"))):
        agreements[key] = services.agreement_create(
            actor=admin,
            clinic=clinic["org"],
            reference=f"AG-{key}",
            commission_kind="percent",
            commission_percent=pct,
            commission_payer="patient",
            shareable_fields=FIELDS,
            documents_shareable=key == "a",
            recipient_measures="Access limited to the clinic's coordinators and physicians.",
            valid_from=today - dt.timedelta(days=10),
            valid_until=today + dt.timedelta(days=365),
        )
    inquiry = Inquiry.objects.create(
        organisation=fac,
        reference="Q-TEST-1",
        language="zh-hans",
        contact_name="王 芳",
        contact_email="fang@example.test",
        patient_name="王 伟",
        patient_date_of_birth=dt.date(1950, 3, 1),
        country="中国",
        diagnosis="阿尔茨海默病",
        cognitive_scores="MMSE 21",
        current_medicines="Donepezil 10 mg",
        privacy_notice_version="v1",
        privacy_notice_language="zh-hans",
        privacy_notice_text="…",
        privacy_consent_at=timezone.now(),
    )
    f = InquiryFile(
        organisation=fac,
        inquiry=inquiry,
        original_name="mri.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
    )
    f.file.save("mri.pdf", ContentFile(b"%PDF-1.4\n%"), save=False)
    f.save()
    patient = Patient.objects.create(
        organisation=fac,
        patient_code="P2026-0001",
        family_name="王",
        given_name="伟",
        date_of_birth=dt.date(1950, 3, 1),
        sex="male",
        language="zh-hans",
        email="fang@example.test",
        inquiry=inquiry,
    )
    access = PortalAccess.objects.create(
        organisation=fac,
        patient=patient,
        email="fang@example.test",
        token_hash="x" * 64,
        expires_at=timezone.now() + dt.timedelta(hours=1),
        used_at=timezone.now(),
    )
    referral = services.referral_open(
        actor=coord, inquiry=inquiry, family_country="CN", patient=patient
    )
    return {
        "fac": fac,
        "admin": admin,
        "coord": coord,
        "a": a,
        "b": b,
        "agreements": agreements,
        "inquiry": inquiry,
        "file": f,
        "patient": patient,
        "access": access,
        "referral": referral,
    }


def consent(
    net: dict[str, Any], key: str, fields: list[str] | None = None, files: bool = False
) -> Any:
    return services.referral_consent_give(
        referral=net["referral"],
        agreement=net["agreements"][key],
        fields=fields or ["patient_date_of_birth", "diagnosis"],
        file_ids=[str(net["file"].external_id)] if files else [],
        given_by_name="王 芳",
        agree=True,
        agree_transfer=True,
        language="zh-hans",
        portal_access=net["access"],
    )


def share(net: dict[str, Any], key: str, **kw: Any) -> Any:
    c = consent(net, key, **kw)
    return services.share_create(actor=net["coord"], referral=net["referral"], consent=c)


def quote(net: dict[str, Any], key: str, s: Any) -> Any:
    clinic = net[key]
    return services.share_quote(
        actor=clinic["staff"],
        share=s,
        package=clinic["package"],
        price_list=clinic["price_list"],
    )
