"""Demo of the CPC licence register and the clinic's own duties (issue 16 items 3 and 7).

A contract CPC licensed five years ago and renewed, with a change whose notice is due; two
complaints (one answered and closed, one open for too long); periodic checks due for the
administrator and the responsible physician; a committee opinion with one action closed and one
open. Built through the services, looked up by natural key first so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt

from saisei.core.demo import DemoContext
from saisei.core.models import Role
from saisei.regulatory import services
from saisei.regulatory.models import (
    CertifiedCommittee,
    CommitteeOpinion,
    Complaint,
    FacilityChange,
    Obligation,
    PeriodicCheck,
    ProcessingFacility,
    ProvisionPlan,
)

D = dt.timedelta
CONTRACT_CPC = "FA3990007"
SCOPE = (
    "Autologous adipose-derived mesenchymal stromal cells: isolation, culture expansion, "
    "cryopreservation and fill for intravenous use."
)


def _licensed_facility(ctx: DemoContext) -> None:
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    facility = ProcessingFacility.objects.filter(
        organisation=ctx.org, facility_number=CONTRACT_CPC
    ).first()
    if facility is None:
        first_from = ctx.today - D(5 * 365 + 200)
        first_until = ctx.today - D(201)
        facility = services.facility_create(
            actor=officer,
            name="Yokohama Bay Cell Processing (contract CPC)",
            name_ja="横浜ベイ細胞加工センター",
            authorisation=ProcessingFacility.Authorisation.LICENSED,
            facility_number=CONTRACT_CPC,
            manager_name="Yuki Mori",
            authorisation_number="関東信越-許可-2021-0107",
            scope=SCOPE,
            valid_from=first_from,
            valid_until=first_until,
        )
        first = facility.authorisations.get()
        # Renewed (ASRM Art. 36) the day after the first licence expired.
        services.facility_authorisation_record(
            actor=officer,
            facility=facility,
            kind="licensed",
            number="関東信越-許可-2026-0031",
            scope=SCOPE,
            valid_from=first_until + D(1),
            valid_until=first_until + D(5 * 365),
            renews=first,
        )
        facility.refresh_from_db()
        for ob in Obligation.objects.open().filter(
            facility=facility, rule_id="FACILITY-YEARLY-REPORT", due_date__lt=ctx.today
        ):
            services.obligation_mark_done(
                actor=officer,
                obligation=ob,
                submitted_date=ob.due_date - D(7),
                evidence=f"別紙様式第8 receipt Y{ob.due_date:%Y%m%d}",
            )
    if not FacilityChange.objects.filter(facility=facility).exists():
        services.facility_change_record(
            actor=officer,
            facility=facility,
            kind="manager",
            description="Facility manager Yuki Mori hands over to Daichi Hayashi (PhD, cell biology).",
            change_date=ctx.today - D(12),
        )


def _complaints(ctx: DemoContext) -> None:
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    if Complaint.objects.filter(organisation=ctx.org).exists():
        return
    answered = services.complaint_record(
        actor=officer,
        complainant_kind="family",
        complainant_name="Daughter of patient DEMO-0003",
        received_on=ctx.today - D(45),
        channel="email",
        summary="The follow-up appointment letter arrived after the date it gave.",
        details="The family learnt of the 3-month assessment one day late and had to rebook flights.",
        handler=officer,
    )
    services.complaint_investigate(actor=officer, complaint=answered)
    services.complaint_respond(
        actor=officer,
        complaint=answered,
        response=(
            "Apologised by telephone and e-mail; the visit was rebooked at the family's "
            "convenience. Follow-up letters now go by e-mail and the portal 21 days ahead."
        ),
        responded_on=ctx.today - D(38),
    )
    services.complaint_close(actor=officer, complaint=answered)
    services.complaint_record(
        actor=officer,
        complainant_kind="patient",
        received_on=ctx.today - D(34),
        channel="phone",
        summary="Asks why the quoted price changed between the first and second quote.",
        handler=officer,
    )


def _checks(ctx: DemoContext) -> None:
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    if PeriodicCheck.objects.filter(organisation=ctx.org).exists():
        return
    plan = ProvisionPlan.objects.filter(organisation=ctx.org).order_by("pk").first()
    services.periodic_check_schedule(
        actor=officer,
        checker="administrator",
        assignee=ctx.user(Role.ORG_ADMIN),
        title="Quarterly check of consent records, adverse-event reports and the complaints log",
        due_date=ctx.today + D(10),
        interval_days=91,
        plan=plan,
    )
    services.periodic_check_schedule(
        actor=officer,
        checker="responsible_physician",
        assignee=ctx.user(Role.PHYSICIAN),
        title="Monthly review of administrations, follow-up visits and deviations",
        due_date=ctx.today + D(4),
        interval_days=30,
        plan=plan,
    )


def _opinions(ctx: DemoContext) -> None:
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    if CommitteeOpinion.objects.filter(organisation=ctx.org).exists():
        return
    committee = CertifiedCommittee.objects.filter(organisation=ctx.org).order_by("pk").first()
    if committee is None:
        return
    plan = ProvisionPlan.objects.filter(organisation=ctx.org).order_by("pk").first()
    opinion = services.committee_opinion_record(
        actor=officer,
        committee=committee,
        plan=plan,
        opinion_date=ctx.today - D(20),
        summary="Continue provision; strengthen the follow-up of patients who return abroad.",
        text=(
            "The committee reviewed the yearly periodic report. Provision may continue. The "
            "institution should (1) give patients who return abroad a written contact plan in "
            "their language and (2) report the follow-up completion rate at the next review."
        ),
        actions=[
            (
                "Written follow-up contact plan for patients returning abroad, in their language.",
                officer,
                ctx.today - D(5),
            ),
            (
                "Report the follow-up completion rate at the committee's next review.",
                ctx.user(Role.PHYSICIAN),
                ctx.today + D(40),
            ),
        ],
    )
    first = opinion.actions.order_by("pk").first()
    if first is not None:
        services.committee_action_close(
            actor=officer,
            action=first,
            evidence="Contact plan template issued in English, Chinese and Korean (doc FC-07 v1).",
            closed_on=ctx.today - D(6),
        )


def load(ctx: DemoContext) -> None:
    _licensed_facility(ctx)
    _complaints(ctx)
    _checks(ctx)
    _opinions(ctx)
