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
)

D = dt.timedelta
ALZ_TITLE = "Autologous adipose-derived MSC for Alzheimer's disease"
CLASS1_TITLE = "Allogeneic umbilical-cord MSC for chronic ischaemic stroke"
KNEE_TITLE = "Autologous adipose-derived MSC for knee osteoarthritis"
PD_TITLE = "Autologous adipose-derived MSC for Parkinson's disease"


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


def load(ctx: DemoContext) -> None:
    reg = _registry(ctx)
    alz_dose = {
        "routes": ["iv"],
        "dose_min_cells": 100_000_000,
        "dose_max_cells": 300_000_000,
        "max_administrations": 10,
    }

    # Class II, filed about 15 months ago: its first periodic report, counted from the filing
    # day, is due within a week, and a minor change 3 days ago owes a notice within 10 days.
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

    # Class I, accepted 20 days ago and still inside the 90-day restriction period.
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

    # Discontinued 20 days ago; follow-up runs another year, so periodic reports continue and
    # the committee notice of discontinuation is overdue.
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

    # A new indication in committee review.
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

    ctx.extra.update(
        {
            "plan_alz": alz,
            "plan_class1": class1,
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
