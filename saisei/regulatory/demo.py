"""Demo data for the regulatory app: registry, plans in several states, obligations due soon.

Built through the services, dates relative to ``ctx.today``, looked up by natural key first so
a second run changes nothing. Shares the Alzheimer's plan and the registry with later apps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from saisei.core.demo import DemoContext
from saisei.core.models import Role
from saisei.regulatory import duties_demo, services
from saisei.regulatory.models import (
    CertifiedCommittee,
    MedicalInstitution,
    Obligation,
    Physician,
    PlanVersion,
    ProcessingFacility,
    ProvisionPlan,
    StandardDocument,
)

D = dt.timedelta
ALZ_TITLE = "Autologous adipose-derived MSC for Alzheimer's disease"
CLASS1_TITLE = "Allogeneic umbilical-cord MSC for chronic ischaemic stroke"
KNEE_TITLE = "Autologous adipose-derived MSC for knee osteoarthritis"
PD_TITLE = "Autologous adipose-derived MSC for Parkinson's disease"
ALLO_TITLE = "Allogeneic umbilical-cord MSC for amyotrophic lateral sclerosis"


def _registry(ctx: DemoContext) -> dict[str, Any]:
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    institution = MedicalInstitution.objects.filter(site=ctx.clinic).first()
    if institution is None:
        institution = services.institution_create(
            actor=officer,
            site=ctx.clinic,
            name="Sakura Clinic Tokyo",
            name_ja="さくらクリニック東京",
            administrator_name="Dr. Hiroshi Kobayashi",
            address="2-1-1 Nihonbashi, Chuo-ku, Tokyo",
            emergency_capacity=(
                "2 observation beds; ECG, pulse oximetry, infusion pumps, crash cart with "
                "adrenaline; transfer agreement with Nihonbashi General Hospital (10 min)."
            ),
        )
    committee = CertifiedCommittee.objects.filter(
        organisation=ctx.org, certification_number="NA8150012"
    ).first()
    if committee is None:
        committee = services.committee_create(
            actor=officer,
            name="Tokyo Regenerative Medicine Specially Certified Committee",
            name_ja="東京再生医療等特定認定委員会",
            kind=CertifiedCommittee.Kind.SPECIALLY_CERTIFIED,
            certification_number="NA8150012",
            contact="secretariat@committee.demo.invalid",
        )
    facility = ProcessingFacility.objects.filter(
        organisation=ctx.org, facility_number="FA3150041"
    ).first()
    if facility is None:
        facility = services.facility_create(
            actor=officer,
            name="Sakura Cell Processing Center",
            name_ja="さくら細胞培養加工施設",
            authorisation=ProcessingFacility.Authorisation.NOTIFIED,
            facility_number="FA3150041",
            manager_name="Haruto Ito",
            # Notified three years and ten weeks ago: its third yearly manufacturing report
            # (別紙様式第8) is due in about three weeks; the earlier two were filed on time.
            valid_from=ctx.today - D(3 * 365 + 70),
            site=ctx.cpc,
        )
        for ob in Obligation.objects.open().filter(facility=facility, due_date__lt=ctx.today):
            services.obligation_mark_done(
                actor=officer,
                obligation=ob,
                submitted_date=ob.due_date - D(10),
                evidence=f"e-再生医療 receipt 別紙様式第8 F{ob.due_date:%Y%m%d}",
            )
    doctor = ctx.user(Role.PHYSICIAN)
    physician = Physician.objects.filter(user=doctor).first()
    if physician is None:
        physician = services.physician_create(
            actor=officer,
            user=doctor,
            name="Dr. Kenji Sato",
            name_ja="佐藤 健二",
            licence_number="512345",
            institution=institution,
        )
    return {
        "institution": institution,
        "committee": committee,
        "facility": facility,
        "physician": physician,
    }


def _plan(ctx: DemoContext, reg: dict[str, Any], title: str, **fields: Any) -> tuple[Any, bool]:
    existing = ProvisionPlan.objects.filter(organisation=ctx.org, title=title).first()
    if existing is not None:
        return existing, False
    base: dict[str, Any] = {
        "cell_origin": "autologous",
        "cell_type": "somatic_stem",
        "tissue": "adipose (abdominal subcutaneous)",
        "cultured": True,
        "homologous_use": False,
        "documents_complete": True,
        "eligibility_summary": "",
        "cell_characteristics": "Culture-expanded mesenchymal stromal cells, passage 2–4.",
        "administrator_name": "Dr. Hiroshi Kobayashi",
        "contact_person": "Aiko Tanaka (clinic office)",
        "contact_phone": "+81-3-0000-0000",
        "contact_email": "office@sakura.demo.invalid",
    }
    base.update(fields)
    plan = services.plan_create(
        actor=ctx.user(Role.COMPLIANCE_OFFICER),
        institution=reg["institution"],
        title=title,
        committee=reg["committee"],
        physicians=[reg["physician"]],
        facilities=[reg["facility"]],
        **base,
    )
    return plan, True


def _steps(ctx: DemoContext, version: PlanVersion, steps: list[tuple[str, int, dict]]) -> None:
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    admin = ctx.user(Role.ORG_ADMIN)
    for name, days_ago, extra in steps:
        version.refresh_from_db()
        services.plan_transition(
            actor=admin if name == "discontinue" else officer,
            version=version,
            name=name,
            effective_date=ctx.today - D(days_ago),
            **extra,
        )


def _close_past_obligations(ctx: DemoContext, plan: ProvisionPlan, *, before: dt.date) -> None:
    """Past duties were met on time in the demo story, except the one left overdue on purpose."""
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    for ob in Obligation.objects.open().filter(plan=plan, due_date__lt=before):
        services.obligation_mark_done(
            actor=officer,
            obligation=ob,
            submitted_date=ob.due_date - D(5),
            evidence=f"e-再生医療 receipt R{ob.due_date:%Y%m%d}-{ob.pk:04d}",
        )


def _forms(ctx: DemoContext, reg: dict[str, Any], alz: ProvisionPlan) -> None:
    """Official forms: the shipped form versions, the CPC's 標準書 and SOPs (a lot refuses to start
    without its 標準書), and a non-minor change of the Alzheimer plan heard by the committee, so its
    change notification (様式第2) has something to say. The Parkinson's plan, still in review,
    leaves its responsible physician, price and cell items empty: its plan form lists them as
    missing and refuses to generate."""
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    services.form_versions_install(actor=officer, organisation=ctx.org)
    facility = reg["facility"]
    qa = ctx.user(Role.QA_MANAGER)
    for kind, number, title, version, days_ago, plan in (
        ("standard", "STD-ALZ-001", "自己脂肪由来MSC（アルツハイマー病）標準書", "2", 520, alz),
        ("sop", "SOP-CUL-001", "Adipose MSC isolation and expansion", "3", 540, None),
        ("sop", "SOP-QC-002", "Release testing of MSC lots", "2", 540, None),
        ("sop", "SOP-EM-003", "Environmental monitoring of the grade A/B suite", "1", 900, None),
    ):
        if not StandardDocument.objects.filter(
            facility=facility, document_number=number, version=version
        ).exists():
            services.standard_document_add(
                actor=qa,
                facility=facility,
                kind=kind,
                document_number=number,
                title=title,
                version=version,
                effective_from=ctx.today - D(days_ago),
                approved_by="Haruto Ito (facility manager)",
                plan=plan,
            )
    if alz.versions.count() == 1:
        current = alz.versions.get()
        _steps(
            ctx,
            current,
            [
                (
                    "start_major_change",
                    2,
                    {"reason": "Add intrathecal administration and revise the price"},
                ),
            ],
        )
        draft = alz.versions.get(number=2)
        services.plan_version_update(
            actor=officer,
            version=draft,
            routes=["intrathecal", "iv"],
            patient_price_yen=2_200_000,
            documents_complete=True,
            change_summary="Add intrathecal administration; price revised to 2,200,000 yen",
        )
        _steps(
            ctx,
            draft,
            [
                ("submit_for_review", 2, {}),
                ("record_favourable_opinion", 1, {"reference": "Committee opinion 2026-031"}),
            ],
        )


def _alzheimer_plan(
    ctx: DemoContext, reg: dict[str, Any], alz_dose: dict[str, Any]
) -> ProvisionPlan:
    """Class II, filed about 15 months ago: its first periodic report, counted from the filing
    day, is due within a week, and a minor change 3 days ago owes a notice within 10 days."""
    alz, new = _plan(
        ctx,
        reg,
        ALZ_TITLE,
        target_disease="Alzheimer's disease (mild cognitive impairment to mild dementia)",
        eligibility_summary=(
            "Adults 50–85 with amyloid-positive Alzheimer's disease, MMSE 18–28, able to "
            "consent or with a legal proxy; no active cancer or uncontrolled infection."
        ),
        consent_document_versions=["ICF-ALZ-EN 2.0", "ICF-ALZ-JA 2.0"],
        # The plan form's items (様式第1の2) that issue 16 added: all filled for this plan.
        responsible_physician=reg["physician"],
        patient_price_yen=1_980_000,
        cell_name="自己脂肪組織由来間葉系幹細胞",
        cell_processing_summary=(
            "腹部皮下脂肪組織約20 gを採取し、コラゲナーゼ処理後、無血清培地で継代2〜4代まで"
            "拡大培養する。出荷判定（無菌、エンドトキシン、マイコプラズマ、生存率、細胞数、"
            "表面抗原）に適合したものを凍結保存し、投与日に解凍して生理食塩液に懸濁する。"
        ),
        **alz_dose,
    )
    if new:
        v = alz.versions.get()
        _steps(
            ctx,
            v,
            [
                ("submit_for_review", 480, {}),
                ("record_favourable_opinion", 465, {"reference": "Committee opinion 2025-112"}),
                ("submit_to_authority", 450, {"reception_number": "R-0451-2025"}),
                ("record_acceptance", 435, {"plan_number": "PB3250117"}),
                (
                    "record_minor_change",
                    3,
                    {
                        "changes": {
                            "contact_person": "Takeshi Yamamoto (compliance office)",
                            "contact_email": "compliance@sakura.demo.invalid",
                        },
                        "reason": "New administrative contact for the plan",
                    },
                ),
            ],
        )
        alz.refresh_from_db()
        _close_past_obligations(ctx, alz, before=ctx.today)
    return alz


def _class1_plan(ctx: DemoContext, reg: dict[str, Any]) -> ProvisionPlan:
    """Class I, accepted 20 days ago and still inside the 90-day restriction period."""
    class1, new = _plan(
        ctx,
        reg,
        CLASS1_TITLE,
        cell_origin="allogeneic",
        tissue="umbilical cord (donor)",
        target_disease="Chronic ischaemic stroke",
        routes=["iv"],
        dose_min_cells=50_000_000,
        dose_max_cells=150_000_000,
        max_administrations=3,
        consent_document_versions=["ICF-STROKE-JA 1.0"],
    )
    if new:
        _steps(
            ctx,
            class1.versions.get(),
            [
                ("submit_for_review", 70, {}),
                ("record_favourable_opinion", 45, {}),
                ("submit_to_authority", 30, {"reception_number": "R-1302-2026"}),
                ("record_acceptance", 20, {"plan_number": "PA1260004"}),
            ],
        )
    return class1


def _knee_plan(ctx: DemoContext, reg: dict[str, Any]) -> ProvisionPlan:
    """Discontinued 20 days ago; follow-up runs another year, so periodic reports continue and
    the committee notice of discontinuation is overdue."""
    knee, new = _plan(
        ctx,
        reg,
        KNEE_TITLE,
        target_disease="Knee osteoarthritis (Kellgren–Lawrence grade II–III)",
        routes=["intra_articular"],
        dose_min_cells=20_000_000,
        dose_max_cells=50_000_000,
        max_administrations=2,
        consent_document_versions=["ICF-KNEE-JA 1.3"],
    )
    if new:
        _steps(
            ctx,
            knee.versions.get(),
            [
                ("submit_for_review", 860, {}),
                ("record_favourable_opinion", 840, {}),
                ("submit_to_authority", 800, {"reception_number": "R-0822-2024"}),
                ("record_acceptance", 790, {"plan_number": "PB3240088"}),
                ("discontinue", 20, {"reason": "Programme refocused on neurological indications"}),
            ],
        )
        knee.refresh_from_db()
        services.plan_follow_up_end_set(
            actor=ctx.user(Role.COMPLIANCE_OFFICER),
            plan=knee,
            follow_up_end_date=ctx.today + D(345),
        )
        _close_past_obligations(ctx, knee, before=ctx.today - D(30))
        notice = (
            Obligation.objects.open().filter(plan=knee, rule_id="DISCONTINUATION-NOTICE").first()
        )
        if notice is not None:
            services.obligation_mark_done(
                actor=ctx.user(Role.COMPLIANCE_OFFICER),
                obligation=notice,
                submitted_date=ctx.today - D(15),
                evidence="e-再生医療 receipt 様式第4 R-0093-2026",
            )
    return knee


def _allogeneic_plan(ctx: DemoContext, reg: dict[str, Any]) -> ProvisionPlan:
    """Class I with donor cells, filed 220 days ago and in force since its 90-day restriction
    ended: the demo's allogeneic donation (a screened, consented donor) is made under it. Its
    標準書 is on file so a lot can start; past duties were met."""
    allo, new = _plan(
        ctx,
        reg,
        ALLO_TITLE,
        cell_origin="allogeneic",
        tissue="umbilical cord (donor, after a planned caesarean birth)",
        target_disease="Amyotrophic lateral sclerosis (ALS)",
        routes=["iv"],
        dose_min_cells=100_000_000,
        dose_max_cells=100_000_000,
        max_administrations=3,
        consent_document_versions=["ICF-ALS-EN 1.0"],
    )
    if new:
        _steps(
            ctx,
            allo.versions.get(),
            [
                ("submit_for_review", 260, {}),
                ("record_favourable_opinion", 240, {}),
                ("submit_to_authority", 220, {"reception_number": "R-0977-2026"}),
                ("record_acceptance", 205, {"plan_number": "PA1250019"}),
                ("bring_into_force", 125, {}),
            ],
        )
        services.standard_document_add(
            actor=ctx.user(Role.QA_MANAGER),
            facility=reg["facility"],
            kind="standard",
            document_number="STD-UC-001",
            title="他家臍帯由来MSC（筋萎縮性側索硬化症）標準書",
            version="1",
            effective_from=ctx.today - D(210),
            approved_by="Haruto Ito (facility manager)",
            plan=allo,
        )
        allo.refresh_from_db()
        _close_past_obligations(ctx, allo, before=ctx.today)
    return allo


def _pd_plan(ctx: DemoContext, reg: dict[str, Any], alz_dose: dict[str, Any]) -> ProvisionPlan:
    """A new indication in committee review."""
    pd_plan, new = _plan(
        ctx,
        reg,
        PD_TITLE,
        target_disease="Parkinson's disease (Hoehn–Yahr 1–3)",
        consent_document_versions=["ICF-PD-JA 0.9"],
        **alz_dose,
    )
    if new:
        _steps(ctx, pd_plan.versions.get(), [("submit_for_review", 12, {})])
    return pd_plan


def load(ctx: DemoContext) -> None:
    reg = _registry(ctx)
    alz_dose = {
        "routes": ["iv"],
        "dose_min_cells": 100_000_000,
        "dose_max_cells": 300_000_000,
        "max_administrations": 10,
    }

    alz = _alzheimer_plan(ctx, reg, alz_dose)
    class1 = _class1_plan(ctx, reg)
    knee = _knee_plan(ctx, reg)
    _pd_plan(ctx, reg, alz_dose)
    _forms(ctx, reg, alz)
    allo = _allogeneic_plan(ctx, reg)
    ctx.extra.update(
        {
            "plan_alz": alz,
            "plan_class1": class1,
            "plan_allogeneic": allo,
            "plan_discontinued": knee,
            "institution": reg["institution"],
            "facility": reg["facility"],
            "physician": reg["physician"],
            "committee": reg["committee"],
        }
    )
    duties_demo.load(ctx)  # the contract CPC's licence register and the clinic's duties
    ctx.stdout.write(
        f"regulatory: {ProvisionPlan.objects.filter(organisation=ctx.org).count()} plans, "
        f"{Obligation.objects.open().filter(organisation=ctx.org).count()} open obligations\n"
    )
