"""Demo: the facilitator Bridge Medical Travel with two partner clinics (Sakura, and a second
clinic, Kaede, with its own Alzheimer plan in force), and one family from China mid-way through
the comparison: consented to both clinics, both answered with quotes, nothing accepted yet.

Idempotent: every object is looked up by a natural key before it is created, through services.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from saisei.core import services as core_services
from saisei.core.demo import DEMO_PASSWORD, DemoContext
from saisei.core.models import Organisation, Role, Site, User
from saisei.journey import services as journey_services
from saisei.journey.models import Inquiry, Patient, PriceList, TreatmentPackage
from saisei.regulatory import services as reg_services
from saisei.regulatory.models import (
    CertifiedCommittee,
    MedicalInstitution,
    Physician,
    ProcessingFacility,
    ProvisionPlan,
)

from . import services
from .models import PartnerAgreement, Referral, ReferralConsent, Share

D = dt.timedelta
FIELDS = [
    "patient_name",
    "patient_date_of_birth",
    "patient_sex",
    "country",
    "diagnosis",
    "diagnosis_when",
    "current_medicines",
    "cognitive_scores",
    "mobility",
    "travel_windows",
]
MEASURES = (
    "Records are kept in Saisei in Japan; only the clinic's coordinators and physicians can open "
    "them; access is logged; staff are bound by confidentiality (APPI Art. 23–25)."
)
FAMILY_EMAIL = "li.na@example.invalid"


def _user(org: Organisation, username: str, roles: list[str], display: str) -> User:
    user = User.objects.filter(username=username).first()
    return user or core_services.user_create(
        actor=None,
        organisation=org,
        username=username,
        password=DEMO_PASSWORD,
        roles=roles,
        display_name=display,
        email=f"{username}@demo.saisei.invalid",
    )


def _kaede_plan(
    ctx: DemoContext,
    org: Organisation,
    officer: User,
    institution: MedicalInstitution,
    committee: CertifiedCommittee,
    facility: ProcessingFacility,
    physician: Physician,
) -> ProvisionPlan:
    """Kaede's Alzheimer plan, taken through review and acceptance (made once)."""
    plan = ProvisionPlan.objects.filter(organisation=org).first()
    if plan is None:
        plan = reg_services.plan_create(
            actor=officer,
            institution=institution,
            title="Autologous adipose-derived MSC for Alzheimer's disease (five infusions)",
            committee=committee,
            physicians=[physician],
            facilities=[facility],
            target_disease="Alzheimer's disease (mild dementia)",
            cell_origin="autologous",
            cell_type="somatic_stem",
            tissue="adipose (abdominal subcutaneous)",
            cultured=True,
            homologous_use=False,
            documents_complete=True,
            routes=["iv"],
            dose_min_cells=150_000_000,
            dose_max_cells=250_000_000,
            max_administrations=5,
            cell_characteristics="Culture-expanded mesenchymal stromal cells, passage 2–3.",
            administrator_name="Dr. Sho Fujita",
            contact_person="Ren Ogawa (international desk)",
            contact_phone="+81-6-0000-0000",
            contact_email="desk@kaede.demo.invalid",
        )
        version = plan.versions.get()
        steps: tuple[tuple[str, int, dict[str, Any]], ...] = (
            ("submit_for_review", 300, {}),
            ("record_favourable_opinion", 280, {"reference": "Osaka committee 2025-201"}),
            ("submit_to_authority", 270, {"reception_number": "R-0777-2025"}),
            ("record_acceptance", 250, {"plan_number": "PB5250208"}),
        )
        for name, days_ago, extra in steps:
            version.refresh_from_db()
            reg_services.plan_transition(
                actor=officer,
                version=version,
                name=name,
                effective_date=ctx.today - D(days_ago),
                **extra,
            )
        plan.refresh_from_db()
    return plan


def _kaede_prices(
    ctx: DemoContext, coord: User, plan: ProvisionPlan, institution: MedicalInstitution
) -> tuple[TreatmentPackage, PriceList]:
    """Kaede's package under the plan and its price list (made once)."""
    package = TreatmentPackage.objects.filter(plan=plan, code="ALZ-IV-5").first()
    if package is None:
        package = journey_services.package_create(
            actor=coord,
            plan=plan,
            code="ALZ-IV-5",
            name="Adipose MSC, five intravenous infusions three weeks apart",
            infusions=5,
            interval_days=21,
            culture_days=28,
            dose_cells=200_000_000,
            route="iv",
            follow_up_months=[3, 6],
        )
    price_list = PriceList.objects.filter(institution=institution).first()
    if price_list is None:
        price_list = journey_services.price_list_create(
            actor=coord,
            institution=institution,
            name="Kaede prices 2026",
            valid_from=ctx.today - D(60),
            valid_until=ctx.today + D(365),
            prices={
                "consultation": 28_000,
                "tests": 48_000,
                "harvest": 280_000,
                "culture_processing": 1_100_000,
                "infusion": 700_000,
                "follow_up": 20_000,
                "assessment": 30_000,
                "interpreter_per_day": 40_000,
            },
        )
    return package, price_list


def _kaede(ctx: DemoContext) -> dict[str, Any]:
    """The second partner clinic, with its own registry and an Alzheimer plan in force."""
    org = Organisation.objects.filter(slug="kaede").first() or core_services.organisation_create(
        actor=None,
        name="Kaede Neurology Clinic",
        slug="kaede",
        kind=Organisation.Kind.CLINIC_GROUP,
        name_ja="かえで神経内科クリニック",
    )
    site = Site.objects.filter(organisation=org).first() or core_services.site_create(
        actor=None,
        organisation=org,
        name="Kaede Clinic Osaka",
        kind=Site.Kind.MEDICAL_INSTITUTION,
        address="1-2-3 Umeda, Kita-ku, Osaka",
        name_ja="かえでクリニック大阪",
    )
    officer = _user(org, "kaede_officer", [Role.COMPLIANCE_OFFICER], "Yui Mori")
    coord = _user(org, "kaede_coordinator", [Role.COORDINATOR], "Ren Ogawa")
    doctor = _user(org, "kaede_physician", [Role.PHYSICIAN], "Dr. Sho Fujita")
    institution = MedicalInstitution.objects.filter(organisation=org).first()
    if institution is None:
        institution = reg_services.institution_create(
            actor=officer,
            site=site,
            name="Kaede Clinic Osaka",
            name_ja="かえでクリニック大阪",
            administrator_name="Dr. Sho Fujita",
            address="1-2-3 Umeda, Kita-ku, Osaka",
            emergency_capacity="1 observation bed; transfer agreement with Umeda General Hospital.",
        )
    committee = CertifiedCommittee.objects.filter(organisation=org).first()
    if committee is None:
        committee = reg_services.committee_create(
            actor=officer,
            name="Osaka Regenerative Medicine Specially Certified Committee",
            name_ja="大阪再生医療等特定認定委員会",
            kind=CertifiedCommittee.Kind.SPECIALLY_CERTIFIED,
            certification_number="NA8150033",
            contact="secretariat@osaka-committee.demo.invalid",
        )
    facility = ProcessingFacility.objects.filter(organisation=org).first()
    if facility is None:
        facility = reg_services.facility_create(
            actor=officer,
            name="Kaede Cell Processing Facility",
            name_ja="かえで細胞培養加工施設",
            authorisation=ProcessingFacility.Authorisation.NOTIFIED,
            facility_number="FA5150077",
            manager_name="Aoi Kato",
            valid_from=ctx.today - D(400),
            site=site,
        )
    physician = Physician.objects.filter(user=doctor).first() or reg_services.physician_create(
        actor=officer,
        user=doctor,
        name="Dr. Sho Fujita",
        name_ja="藤田 翔",
        licence_number="598765",
        institution=institution,
    )
    plan = _kaede_plan(ctx, org, officer, institution, committee, facility, physician)
    package, price_list = _kaede_prices(ctx, coord, plan, institution)
    return {"org": org, "coord": coord, "package": package, "price_list": price_list}


def _agreement(ctx: DemoContext, admin: User, clinic: Organisation, **kw: Any) -> PartnerAgreement:
    found = PartnerAgreement.objects.filter(organisation=ctx.facilitator, clinic=clinic).first()
    return found or services.agreement_create(
        actor=admin,
        clinic=clinic,
        shareable_fields=FIELDS,
        recipient_measures=MEASURES,
        valid_from=ctx.today - D(90),
        valid_until=ctx.today + D(640),
        **kw,
    )


def _family(ctx: DemoContext, coord: User) -> tuple[Inquiry, Patient]:
    inquiry = Inquiry.objects.filter(
        organisation=ctx.facilitator, contact_email=FAMILY_EMAIL
    ).first()
    if inquiry is None:
        inquiry = journey_services.inquiry_submit(
            organisation=ctx.facilitator,
            data={
                "contact_name": "李娜",
                "contact_email": FAMILY_EMAIL,
                "contact_relationship": "女儿",
                "patient_family_name": "李",
                "patient_given_name": "建国",
                "patient_name_native": "李建国",
                "patient_name_reading": "Lǐ Jiànguó",
                "patient_date_of_birth": dt.date(1949, 9, 3),
                "patient_sex": "male",
                "country": "中国",
                "diagnosis": "阿尔茨海默病（轻度）",
                "diagnosis_when": "2024",
                "cognitive_scores": "MMSE 21（2026年）",
                "current_medicines": "多奈哌齐 10 mg",
                "mobility": "independent",
                "travel_windows": "明年春天",
            },
            files=[],
            privacy_consent=True,
            form_token=journey_services.inquiry_token(
                issued_at=timezone.now() - dt.timedelta(minutes=10)
            ),
            language="zh-hans",
        )
    patient = inquiry.patients.first()
    if patient is None:
        patient = journey_services.patient_enrol(
            actor=coord,
            family_name="李",
            given_name="建国",
            date_of_birth=dt.date(1949, 9, 3),
            sex="male",
            language="zh-hans",
            inquiry=inquiry,
            country="CN",
            currency="CNY",
            email=FAMILY_EMAIL,
        )
    return inquiry, patient


def load(ctx: DemoContext) -> None:
    facilitator = ctx.facilitator
    coord = _user(facilitator, "bridge_coordinator", [Role.COORDINATOR], "Chen Jie")
    admin = _user(facilitator, "bridge_admin", [Role.ORG_ADMIN], "Tan Wei Ling")
    sakura_package = ctx.extra.get("package_alz")
    if sakura_package is None:
        ctx.stdout.write("network: no Sakura package from journey; facilitator users only\n")
        return
    kaede = _kaede(ctx)
    agreements = {
        "sakura": _agreement(
            ctx,
            admin,
            ctx.org,
            reference="BMT-SAK-2026",
            commission_kind="percent",
            commission_percent=Decimal("10"),
            commission_payer="patient",
            documents_shareable=True,
        ),
        "kaede": _agreement(
            ctx,
            admin,
            kaede["org"],
            reference="BMT-KAE-2026",
            commission_kind="fixed",
            commission_fixed_jpy=150_000,
            commission_payer="clinic",
            documents_shareable=False,
        ),
    }
    inquiry, patient = _family(ctx, coord)
    referral = Referral.objects.filter(inquiry=inquiry).first() or services.referral_open(
        actor=coord, inquiry=inquiry, family_country="CN", patient=patient
    )
    sakura_coord = ctx.user(Role.COORDINATOR)
    sakura_price = PriceList.objects.filter(institution=sakura_package.plan.institution).first()
    answers = {
        "sakura": (sakura_coord, sakura_package, sakura_price),
        "kaede": (kaede["coord"], kaede["package"], kaede["price_list"]),
    }
    for key, agreement in agreements.items():
        consent = ReferralConsent.objects.filter(referral=referral, agreement=agreement).first()
        if consent is None:
            consent = services.referral_consent_give(
                referral=referral,
                agreement=agreement,
                fields=FIELDS,
                file_ids=[],
                given_by_name="李娜",
                agree=True,
                agree_transfer=True,
                language="zh-hans",
                actor=coord,
            )
        share = Share.objects.filter(consent=consent).first() or services.share_create(
            actor=coord, referral=referral, consent=consent
        )
        if share.status == Share.Status.SHARED:
            staff, package, price_list = answers[key]
            services.share_quote(
                actor=staff, share=share, package=package, price_list=price_list, currency="CNY"
            )
    ctx.extra["referral"] = referral
    ctx.stdout.write(
        f"network: facilitator {facilitator.name} with {len(agreements)} partner clinics; "
        f"referral {referral.reference} with {referral.shares.count()} quotes to compare\n"
    )
