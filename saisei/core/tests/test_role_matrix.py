"""The role matrix, tried by every role through the API and the page.

``docs/roles.md`` is generated from the same rows the permission functions read
(``saisei.core.roles``); here every row is exercised for every role on both channels: an allowed
role succeeds, any other is refused and nothing is written. A row without a case fails the test,
so the code, the document and the tests cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from saisei.core.models import AuditEntry, Role
from saisei.core.roles import load_matrix
from saisei.core.tests.esign import signed, signing_code
from saisei.core.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

API_OK = frozenset({200, 201})
WEB_OK = frozenset({200, 302})
REFUSED = frozenset({403, 404})  # 404: a role that cannot even see the record


@dataclass(frozen=True)
class Case:
    """How to try one action: build a fresh subject, then call it as a user on each channel."""

    setup: Callable[[SimpleNamespace], Any]
    api: Callable[[Any, Any, SimpleNamespace], Any] | None
    web: Callable[[Any, Any, SimpleNamespace], Any] | None
    refused: frozenset[int] = REFUSED
    note: str = ""
    # What counts as "the role was let through" when a later rule may still say no.
    permitted: Callable[[Any], bool] | None = None


# --- subjects ---------------------------------------------------------------------------------


def _p() -> Any:
    from saisei.processing.tests import factories

    return factories


def _patient(c: SimpleNamespace) -> Any:
    return _p().make_patient(c.org)


def _donation(c: SimpleNamespace) -> Any:
    return _p().make_donation(c.tech, _patient(c))


def _pending_donation(c: SimpleNamespace) -> Any:
    markers = dict.fromkeys(_p().negative_markers(), "pending")
    return _p().make_donation(c.tech, _patient(c), infection_markers=markers)


def _lot(c: SimpleNamespace) -> Any:
    return _p().make_lot(c.tech, _patient(c))


def _ready_lot(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    f = _p()
    lot = f.make_lot(c.tech, _patient(c))
    f.harvest(c.tech, lot)
    services.dose_divide(actor=c.tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])
    services.lot_submit_qc(actor=c.tech, lot=lot)
    f.record_all(c.tech, lot)
    return lot


def _quarantined_lot(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    lot = _ready_lot(c)
    return services.lot_quarantine(actor=c.tech, lot=lot, reason="Pending review")


def _unreleased_dose(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    f = _p()
    lot = f.make_lot(c.tech, _patient(c))
    f.harvest(c.tech, lot)
    return services.dose_divide(actor=c.tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])[
        0
    ]


def _released_dose(c: SimpleNamespace) -> Any:
    return _p().released_lot(c.tech, c.qa, _patient(c), bags=1).doses.get()


def _held_dose(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    dose = _released_dose(c)
    services.dose_report_unusable(actor=c.nurse, dose=dose, reason="Bag looks cloudy")
    return dose


def _deviation(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    deviation = services.deviation_open(actor=c.tech, title="Door left open", source="other")
    return services.deviation_update(
        actor=c.tech, deviation=deviation, investigation="i", impact="none", capa="training"
    )


def _draft_programme(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    return services.monitoring_programme_prepare(
        actor=c.tech,
        site=c.world.cpc,
        room=f"Room {timezone.now().timestamp()}",
        grade="B",
        effective_from=timezone.localdate(),
        source=_p().SOURCE,
        limits=_p().GRADE_B_LIMITS,
    )


def _programme_in_force(c: SimpleNamespace) -> Any:
    if not hasattr(c, "programme"):
        c.programme = _p().approved_programme(preparer=c.tech, approver=c.qa, site=c.world.cpc)
    return c.programme


def _sig(c: SimpleNamespace, **extra: Any) -> dict[str, Any]:
    """The acting user's signature factors: a current code too when the role signs with two."""
    otp = {"otp": signing_code(c.actor)} if c.actor.two_factor_required else {}
    return {"password": TEST_PASSWORD, **otp, **extra}


def _culture_alert(c: SimpleNamespace) -> Any:
    from saisei.processing import services, specs

    f = _p()
    lot = f.make_lot(c.tech, _patient(c), allow_conditional_release=True)
    f.harvest(c.tech, lot)
    services.dose_divide(actor=c.tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])
    services.lot_submit_qc(actor=c.tech, lot=lot)
    f.record_all(c.tech, lot, pending=(specs.STERILITY,))
    services.lot_release(
        actor=c.qa,
        lot=lot,
        **signed(c.qa),
        meaning="release",
        conditional=True,
        justification="fresh",
    )
    services.qc_result_record(
        actor=c.tech, lot=lot, test_code=specs.STERILITY, value="growth", organism="S. aureus"
    )
    return lot.culture_alerts.get()


def _treatment(c: SimpleNamespace) -> Any:
    """A patient ready for infusion 1 (thawed bag) under the shared treatment world."""
    from saisei.treatment.tests.factories import make_world

    if not hasattr(c, "tw"):
        c.tw = make_world(c.org)
        return c.tw
    return make_world(c.org, base=c.tw)


def _verification(c: SimpleNamespace) -> Any:
    from saisei.treatment import services

    w = _treatment(c)
    check = services.bedside_verify(
        actor=w.nurse,
        patient_scan=w.wristband,
        product_scans=[w.labels[0]],
        course_step=w.steps[0],
        route="iv",
    )
    assert check.passed, check.checks
    return SimpleNamespace(world=w, verification=check)


def _patient_report(c: SimpleNamespace) -> Any:
    from saisei.safety import services

    return services.patient_report_submit(
        patient=_patient(c), reporter="caregiver", description="Dizzy since Monday", how_bad="mild"
    )


def _event(c: SimpleNamespace) -> Any:
    from saisei.safety import services

    return services.adverse_event_record(
        actor=c.physician,
        patient=_patient(c),
        term="Bruising at the harvest site",
        onset_date=timezone.localdate(),
        severity_grade=1,
    )


def _scan(dose: Any) -> str:
    return f"={dose.din}{dose.lot.donation.din_flags}=<{dose.product_code}"


# --- the clinic's own duties (regulatory) and donors ---------------------------------------------


def _colleague(c: SimpleNamespace, role: str) -> Any:
    from saisei.core.tests.factories import UserFactory

    return UserFactory(organisation=c.org, roles=[role])


def _facility(c: SimpleNamespace) -> Any:
    from saisei.regulatory.tests.factories import FacilityFactory

    return FacilityFactory(organisation=c.org)


def _committee(c: SimpleNamespace) -> Any:
    from saisei.regulatory.tests.factories import CommitteeFactory

    return CommitteeFactory(organisation=c.org)


def _due_check(c: SimpleNamespace) -> Any:
    """A check assigned to the acting user when their role signs checks off, else to a physician.

    Only the assignee may sign a check off: a role the matrix allows is tried on its own check; a
    role it refuses is tried on a physician's check (it cannot be assigned one of its own).
    """
    from saisei.regulatory import services

    if c.actor.has_role(Role.ORG_ADMIN):
        checker, assignee = "administrator", c.actor
    elif c.actor.has_role(Role.PHYSICIAN):
        checker, assignee = "responsible_physician", c.actor
    else:
        checker, assignee = "responsible_physician", _colleague(c, Role.PHYSICIAN)
    return services.periodic_check_schedule(
        actor=_colleague(c, Role.COMPLIANCE_OFFICER),
        checker=checker,
        assignee=assignee,
        title="Monthly review",
        due_date=timezone.localdate() + dt.timedelta(days=3),
    )


def _donor(c: SimpleNamespace) -> Any:
    """An unscreened, unconsented donor under an allogeneic plan of the organisation."""
    from saisei.processing import services
    from saisei.processing.tests.factories import plan_world

    if not hasattr(c, "allo"):
        c.allo = plan_world(c.org, cell_origin="allogeneic")
    return services.donor_register(
        actor=c.physician,
        plan=c.allo.plan,
        family_name="Suzuki",
        given_name="Hanako",
        birth_date=dt.date(1990, 4, 1),
    )


# --- the facilitator network -------------------------------------------------------------------


def _facilitator(c: SimpleNamespace) -> SimpleNamespace:
    """A facilitator (abroad) with a family's inquiry, and a colleague holding the acting role there.

    Agreements and referrals are worked at a facilitator, so the role is tried by a user of the
    facilitator; ``c.org`` (a clinic group) is the partner clinic.
    """
    from saisei.core.tests.factories import OrganisationFactory, UserFactory
    from saisei.journey.models import Inquiry, Patient

    fac: Any = OrganisationFactory(kind="facilitator", country="CN")
    inquiry = Inquiry.objects.create(
        organisation=fac,
        reference=f"Q-{fac.pk}",
        language="zh-hans",
        contact_name="王 芳",
        contact_email="fang@example.test",
        patient_name="王 伟",
        patient_date_of_birth=dt.date(1950, 3, 1),
        country="中国",
        diagnosis="阿尔茨海默病",
        privacy_notice_version="v1",
        privacy_notice_language="zh-hans",
        privacy_notice_text="…",
        privacy_consent_at=timezone.now(),
    )
    patient = Patient.objects.create(
        organisation=fac,
        patient_code=f"P-{fac.pk}",
        family_name="王",
        given_name="伟",
        date_of_birth=dt.date(1950, 3, 1),
        sex="male",
        language="zh-hans",
        email="fang@example.test",
        inquiry=inquiry,
    )
    user = UserFactory(organisation=fac, roles=sorted(c.actor.roles))
    return SimpleNamespace(
        fac=fac,
        inquiry=inquiry,
        patient=patient,
        user=user,
        # Made here, before the audit count is taken: issuing a token is itself audited.
        api=c.api_for(user),
        web=c.web_for(user),
        admin=UserFactory(organisation=fac, roles=[Role.ORG_ADMIN]),
        coord=UserFactory(organisation=fac, roles=[Role.COORDINATOR]),
    )


def _agreement_terms(c: SimpleNamespace) -> dict[str, Any]:
    today = timezone.localdate()
    return {
        "reference": "AG-1",
        "commission_kind": "percent",
        "commission_payer": "patient",
        "recipient_measures": "Access limited to the clinic's coordinators and physicians.",
        "valid_from": today - dt.timedelta(days=10),
        "valid_until": today + dt.timedelta(days=365),
    }


def _share(c: SimpleNamespace) -> Any:
    """A referral shared with ``c.org`` (the partner clinic) on the family's consent."""
    from decimal import Decimal

    from saisei.journey.models import PortalAccess
    from saisei.network import services

    f = _facilitator(c)
    agreement = services.agreement_create(
        actor=f.admin,
        clinic=c.org,
        commission_percent=Decimal("10"),
        documents_shareable=False,
        shareable_fields=["patient_date_of_birth", "diagnosis"],
        **_agreement_terms(c),
    )
    access = PortalAccess.objects.create(
        organisation=f.fac,
        patient=f.patient,
        email="fang@example.test",
        token_hash=f"{f.fac.pk:064d}",  # unique: the setup runs once per channel
        expires_at=timezone.now() + dt.timedelta(hours=1),
        used_at=timezone.now(),
    )
    referral = services.referral_open(
        actor=f.coord, inquiry=f.inquiry, family_country="CN", patient=f.patient
    )
    consent = services.referral_consent_give(
        referral=referral,
        agreement=agreement,
        fields=["patient_date_of_birth", "diagnosis"],
        file_ids=[],
        given_by_name="王 芳",
        agree=True,
        agree_transfer=True,
        language="zh-hans",
        portal_access=access,
    )
    return services.share_create(actor=f.coord, referral=referral, consent=consent)


# --- the cases ----------------------------------------------------------------------------------

REASON = {"reason": "Checked by the role matrix test"}


def _today() -> dt.date:
    return timezone.localdate()


def _api_donation(a: Any, s: SimpleNamespace, c: SimpleNamespace) -> Any:
    return a.post(
        "/processing/donations",
        {
            "patient": str(s.patient.external_id),
            "course": str(s.course.external_id),
            "site": str(c.world.site.external_id),
            "plan": str(c.world.plan.external_id),
            "facility": str(c.world.facility.external_id),
            "physician": str(c.world.physician.external_id),
            "cell_source": "autologous",
            "harvest_site": "abdomen",
            "tissue_weight_g": 20,
            "container": "sterile tube",
            "collected_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
            "infection_markers": _p().negative_markers(),
        },
    )


def _web_donation(w: Any, s: SimpleNamespace, c: SimpleNamespace) -> Any:
    when = timezone.localtime() - dt.timedelta(hours=1)
    return w.post(
        "/processing/donations/new/",
        {
            "patient": s.patient.pk,
            "course": s.course.pk,
            "cell_source": "autologous",
            "plan": c.world.plan.pk,
            "site": c.world.site.pk,
            "facility": c.world.facility.pk,
            "physician": c.world.physician.pk,
            "harvest_site": "abdomen",
            "tissue_weight_g": "20",
            "collected_at": when.strftime("%Y-%m-%dT%H:%M"),
            "container": "sterile tube",
            **{f"marker_{m}": "negative" for m in _p().negative_markers()},
        },
    )


def _consented_patient(c: SimpleNamespace) -> SimpleNamespace:
    """A consenting patient with an open course under the world's plan (what a harvest is for)."""
    patient = _patient(c)
    _p().give_consent(patient, c.world.version)
    return SimpleNamespace(patient=patient, course=_p().make_course(patient, plan=c.world.plan))


def _past_the_permission(res: Any) -> bool:
    """Recorded, or refused by the compliance gate after the permission check passed."""
    return (
        res.status_code in (API_OK | WEB_OK)
        or b"compliance_gate_refused" in res.content
        or (b"GATE-" in res.content and res.status_code in (400, 409, 422))
    )


CASES: dict[str, Case] = {
    # Whether the harvest itself may happen is the compliance gate's question (tested there);
    # here only whether the role may record one.
    "donation.record": Case(
        _consented_patient, _api_donation, _web_donation, permitted=_past_the_permission
    ),
    "donation.markers": Case(
        _pending_donation,
        lambda a, d, c: a.post(
            f"/processing/donations/{d.external_id}/markers", {"results": {"hbs_ag": "negative"}}
        ),
        lambda w, d, c: w.post(
            f"/processing/donations/{d.external_id}/markers/", {"marker_hbs_ag": "negative"}
        ),
    ),
    "donation.markers_correct": Case(
        _donation,
        lambda a, d, c: a.post(
            f"/processing/donations/{d.external_id}/markers", {"results": {"hbs_ag": "positive"}}
        ),
        lambda w, d, c: w.post(
            f"/processing/donations/{d.external_id}/markers/", {"marker_hbs_ag": "positive"}
        ),
    ),
    "label.donation_print": Case(
        _donation,
        lambda a, d, c: a.post(f"/processing/donations/{d.external_id}/labels", {"count": 1}),
        lambda w, d, c: w.post(f"/processing/donations/{d.external_id}/labels/", {"count": 1}),
    ),
    "label.dose_print": Case(
        _unreleased_dose,
        lambda a, d, c: a.post(f"/processing/doses/{d.external_id}/labels", {"count": 1}),
        lambda w, d, c: w.post(f"/processing/doses/{d.external_id}/labels/", {"count": 1}),
    ),
    "culture.record": Case(
        _lot,
        lambda a, lot, c: a.post(f"/processing/lots/{lot.external_id}/steps", {"kind": "feed"}),
        lambda w, lot, c: w.post(
            f"/processing/lots/{lot.external_id}/steps/", {"kind": "feed", "passage_number": 0}
        ),
    ),
    "qc.record": Case(
        _lot,
        lambda a, lot, c: a.post(
            f"/processing/lots/{lot.external_id}/qc-results",
            {"test_code": "mycoplasma", "value": "negative"},
        ),
        lambda w, lot, c: w.post(
            f"/processing/lots/{lot.external_id}/qc/",
            {"test_code": "mycoplasma", "value": "negative"},
        ),
    ),
    "environment.record": Case(
        _programme_in_force,
        lambda a, p, c: a.post(
            "/processing/environment",
            {
                "site": str(p.site.external_id),
                "room": p.room,
                "location": "cabinet",
                "parameter": "air_viable",
                "value": 0,
            },
        ),
        lambda w, p, c: w.post(
            "/processing/environment/",
            {
                "programme": str(p.external_id),
                "location": "cabinet",
                "parameter": "air_viable",
                "value": 0,
            },
        ),
    ),
    "environment.approve_programme": Case(
        _draft_programme,
        lambda a, p, c: a.post(
            f"/processing/environment/programmes/{p.external_id}/approve",
            _sig(c),
        ),
        lambda w, p, c: w.post(
            f"/processing/environment/programmes/{p.external_id}/",
            _sig(c, meaning="I approve"),
        ),
    ),
    "deviation.manage": Case(
        lambda c: None,
        lambda a, _, c: a.post("/processing/deviations", {"title": "Power dip"}),
        lambda w, _, c: w.post(
            "/processing/deviations/", {"title": "Power dip", "severity": "minor"}
        ),
    ),
    "deviation.close": Case(
        _deviation,
        lambda a, d, c: a.patch(f"/processing/deviations/{d.external_id}", {"status": "closed"}),
        lambda w, d, c: w.post(
            f"/processing/deviations/{d.external_id}/",
            {"investigation": "i", "impact": "none", "capa": "training", "status": "closed"},
        ),
    ),
    "lot.quarantine": Case(
        _ready_lot,
        lambda a, lot, c: a.post(f"/processing/lots/{lot.external_id}/quarantine", REASON),
        lambda w, lot, c: w.post(
            f"/processing/lots/{lot.external_id}/quarantine/", {"quarantine-reason": "x"}
        ),
    ),
    "lot.lift_quarantine": Case(
        _quarantined_lot,
        lambda a, lot, c: a.post(f"/processing/lots/{lot.external_id}/lift-quarantine", REASON),
        lambda w, lot, c: w.post(
            f"/processing/lots/{lot.external_id}/lift-quarantine/", {"lift-reason": "x"}
        ),
    ),
    "lot.release": Case(
        _ready_lot,
        lambda a, lot, c: a.post(
            f"/processing/lots/{lot.external_id}/release",
            _sig(c, meaning="release"),
        ),
        lambda w, lot, c: w.post(
            f"/processing/lots/{lot.external_id}/release/",
            _sig(c, meaning="release"),
        ),
    ),
    "lot.reject": Case(
        _ready_lot,
        lambda a, lot, c: a.post(
            f"/processing/lots/{lot.external_id}/reject", {**REASON, **_sig(c)}
        ),
        lambda w, lot, c: w.post(
            f"/processing/lots/{lot.external_id}/reject/", {**REASON, **_sig(c)}
        ),
    ),
    "dose.thaw": Case(
        _released_dose,
        lambda a, d, c: a.post(f"/processing/doses/{d.external_id}/thaw", {"viability_pct": 91}),
        lambda w, d, c: w.post(f"/processing/doses/{d.external_id}/thaw/", {"viability_pct": 91}),
    ),
    "dose.discard": Case(
        _unreleased_dose,
        lambda a, d, c: a.post(f"/processing/doses/{d.external_id}/discard", REASON),
        lambda w, d, c: w.post(f"/processing/doses/{d.external_id}/discard/", REASON),
    ),
    "dose.report_unusable": Case(
        _released_dose,
        lambda a, d, c: a.post(f"/processing/doses/{d.external_id}/report-unusable", REASON),
        lambda w, d, c: w.post(
            f"/processing/doses/{d.external_id}/report-unusable/", {"unusable-reason": "x"}
        ),
    ),
    "dose.lift_hold": Case(
        _held_dose,
        lambda a, d, c: a.post(f"/processing/doses/{d.external_id}/lift-hold", REASON),
        lambda w, d, c: w.post(
            f"/processing/doses/{d.external_id}/lift-hold/", {"lift-reason": "x"}
        ),
    ),
    "custody.handover": Case(
        _released_dose,
        lambda a, d, c: a.post(
            "/processing/custody",
            {
                "stage": "storage",
                "scan": _scan(d),
                "dose": str(d.external_id),
                "from_party": "CPC",
                "to_party": "LN2-1",
                "place": "CPC",
            },
        ),
        lambda w, d, c: w.post(
            f"/processing/doses/{d.external_id}/handover/",
            {
                "stage": "storage",
                "scan": _scan(d),
                "from_party": "CPC",
                "to_party": "LN2-1",
                "place": "CPC",
            },
        ),
    ),
    "culture_alert.follow_up": Case(
        _culture_alert,
        lambda a, al, c: a.post(
            f"/processing/culture-alerts/{al.external_id}/follow-up", {"follow_up": "Called"}
        ),
        lambda w, al, c: w.post(
            f"/processing/culture-alerts/{al.external_id}/follow-up/", {"follow_up": "Called"}
        ),
    ),
    "bedside.verify": Case(
        _treatment,
        lambda a, w, c: a.post(
            "/bedside/verify",
            {
                "patient_scan": w.wristband,
                "product_scans": [w.labels[0]],
                "course_step": str(w.steps[0].external_id),
                "route": "iv",
            },
        ),
        lambda cl, w, c: cl.post(
            f"/treatment/bedside/{w.steps[0].external_id}/",
            {
                "patient_scan": w.wristband,
                "product_scan": w.labels[0],
                "route": "iv",
                "step": str(w.steps[0].external_id),
            },
        ),
    ),
    "administration.record": Case(
        _verification,
        lambda a, v, c: a.post(
            "/treatment/administrations",
            {
                "verification": str(v.verification.external_id),
                "second_person_username": v.world.nurse2.username,
                "second_person_password": TEST_PASSWORD,
                "physician_username": v.world.physician_user.username,
            },
        ),
        lambda cl, v, c: cl.post(
            f"/treatment/bedside/verifications/{v.verification.external_id}/administer/",
            {
                "second_person": v.world.nurse2.pk,
                "second_person_password": TEST_PASSWORD,
                "physician": v.world.physician_user.pk,
            },
        ),
    ),
    "administration.second_person": Case(
        _verification,
        lambda a, v, c: c.nurse_api.post(
            "/treatment/administrations",
            {
                "verification": str(v.verification.external_id),
                "second_person_username": c.subject_user.username,
                "second_person_password": TEST_PASSWORD,
                "physician_username": v.world.physician_user.username,
            },
        ),
        lambda cl, v, c: c.nurse_web.post(
            f"/treatment/bedside/verifications/{v.verification.external_id}/administer/",
            {
                "second_person": c.subject_user.pk,
                "second_person_password": TEST_PASSWORD,
                "physician": v.world.physician_user.pk,
            },
        ),
        # A second person who may not confirm is an invalid choice, not a permission of the caller.
        refused=frozenset({400, 422}),
        note="the user of the role is the second person; a nurse records",
    ),
    "adverse_event.record": Case(
        _patient,
        lambda a, p, c: a.post(
            "/safety/events",
            {
                "patient": str(p.external_id),
                "term": "Bruising",
                "onset_date": str(timezone.localdate()),
                "severity_grade": 1,
            },
        ),
        lambda w, p, c: w.post(
            "/safety/events/new/",
            {
                "patient": p.pk,
                "term": "Bruising",
                "onset_date": str(timezone.localdate()),
                "aware_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "severity_grade": "1",
                "related_harvest": "not_assessed",
                "related_cells": "not_assessed",
                "related_administration": "not_assessed",
                "outcome": "unknown",
            },
        ),
    ),
    # No page or endpoint edits an event's assessment yet: the service is tried directly below.
    "adverse_event.assess": Case(_event, None, None),
    "patient_report.triage": Case(
        _patient_report,
        lambda a, r, c: a.post(
            f"/safety/patient-reports/{r.external_id}/triage",
            {"decision": "not_adverse_event", "note": "Known side effect, reassured"},
        ),
        lambda w, r, c: w.post(
            f"/safety/triage/{r.external_id}/",
            {
                "decision": "not_adverse_event",
                "note": "Known side effect, reassured",
                "onset_date": str(timezone.localdate()),
                "severity_grade": "1",
                "related_harvest": "not_assessed",
                "related_cells": "not_assessed",
                "related_administration": "not_assessed",
                "outcome": "unknown",
            },
        ),
    ),
    # Submissions are recorded on the event page; the API has no endpoint for them yet.
    "report_submission.record": Case(
        _event,
        None,
        lambda w, e, c: w.post(
            f"/safety/events/{e.external_id}/submissions/",
            {
                "recipient": "committee",
                "channel": "e-mail",
                "sent_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "language": "ja",
            },
        ),
    ),
    # --- the clinic's own duties ---
    "facility.register": Case(
        _facility,
        lambda a, f, c: a.post(
            f"/regulatory/facilities/{f.external_id}/changes",
            {"kind": "manager", "description": "New manager", "change_date": _today()},
        ),
        lambda w, f, c: w.post(
            f"/regulatory/facilities/{f.external_id}/changes/new/",
            {"kind": "manager", "description": "New manager", "change_date": str(_today())},
        ),
    ),
    "complaint.handle": Case(
        lambda c: _colleague(c, Role.COMPLIANCE_OFFICER),
        lambda a, handler, c: a.post(
            "/regulatory/complaints",
            {
                "complainant_kind": "family",
                "received_on": _today(),
                "channel": "email",
                "summary": "Letter late",
                "handler": handler.username,
            },
        ),
        lambda w, handler, c: w.post(
            "/regulatory/duties/complaints/new/",
            {
                "complainant_kind": "family",
                "received_on": str(_today()),
                "channel": "email",
                "summary": "Letter late",
                "handler": handler.pk,
            },
        ),
    ),
    "periodic_check.schedule": Case(
        lambda c: _colleague(c, Role.PHYSICIAN),
        lambda a, doctor, c: a.post(
            "/regulatory/checks",
            {
                "checker": "responsible_physician",
                "assignee": doctor.username,
                "title": "Monthly review",
                "due_date": _today(),
            },
        ),
        lambda w, doctor, c: w.post(
            "/regulatory/duties/checks/new/",
            {
                "checker": "responsible_physician",
                "assignee": doctor.pk,
                "title": "Monthly review",
                "due_date": str(_today()),
            },
        ),
    ),
    "periodic_check.sign_off": Case(
        _due_check,
        lambda a, check, c: a.post(
            f"/regulatory/checks/{check.external_id}/sign-off",
            {"performed_on": _today(), "findings": "All administrations in plan."},
        ),
        lambda w, check, c: w.post(
            f"/regulatory/duties/checks/{check.external_id}/sign-off/",
            {"performed_on": str(_today()), "findings": "All administrations in plan."},
        ),
        note="an allowed role signs off its own check; a refused one tries a physician's check",
    ),
    "committee_opinion.record": Case(
        _committee,
        lambda a, committee, c: a.post(
            "/regulatory/committee-opinions",
            {
                "committee": str(committee.external_id),
                "opinion_date": _today(),
                "summary": "Improve follow-up",
            },
        ),
        lambda w, committee, c: w.post(
            "/regulatory/duties/opinions/new/",
            {
                "committee": committee.pk,
                "opinion_date": str(_today()),
                "summary": "Improve follow-up",
            },
        ),
    ),
    # --- donors ---
    "donor.screen": Case(
        _donor,
        lambda a, d, c: a.post(
            f"/processing/donors/{d.external_id}/screening", {"results": {"hiv_ab": "pass"}}
        ),
        lambda w, d, c: w.post(
            f"/processing/donors/{d.external_id}/", {"act": "screen", "hiv_ab": "pass"}
        ),
    ),
    "donor.consent": Case(
        _donor,
        lambda a, d, c: a.post(
            f"/processing/donors/{d.external_id}/consent", {"form_version": "DC-1"}
        ),
        lambda w, d, c: w.post(
            f"/processing/donors/{d.external_id}/",
            {
                "act": "consent",
                "signed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "form_version": "DC-1",
            },
        ),
    ),
    # --- the facilitator network ---
    "partner_agreement.manage": Case(
        _facilitator,
        lambda a, f, c: f.api.post(
            "/network/agreements",
            {
                **_agreement_terms(c),
                "clinic": c.org.slug,
                "commission_percent": "10",
                "shareable_fields": ["diagnosis"],
            },
        ),
        lambda w, f, c: f.web.post(
            "/network/agreements/",
            {
                **{k: str(v) for k, v in _agreement_terms(c).items()},
                "clinic": c.org.slug,
                "commission": "10",
                "fields": ["diagnosis"],
            },
        ),
        note="the user of the role works at a facilitator; the partner clinic is the test's org",
    ),
    "referral.manage": Case(
        _facilitator,
        lambda a, f, c: f.api.post(
            "/network/referrals",
            {
                "inquiry": str(f.inquiry.external_id),
                "family_country": "CN",
                "patient": str(f.patient.external_id),
            },
        ),
        lambda w, f, c: f.web.post(
            f"/network/inquiries/{f.inquiry.external_id}/refer/", {"family_country": "CN"}
        ),
        note="the user of the role works at a facilitator",
    ),
    "referral.answer": Case(
        _share,
        lambda a, s, c: a.post(
            f"/network/received/{s.external_id}/decline", {"reason": "Outside the plan"}
        ),
        lambda w, s, c: w.post(
            f"/network/received/{s.external_id}/",
            {"action": "decline", "reason": "Outside the plan"},
        ),
        note="the user of the role works at the partner clinic the referral was shared with",
    ),
}


def test_every_row_of_the_matrix_has_a_case_and_the_document_is_current(tmp_path: Any) -> None:
    assert set(load_matrix()) == set(CASES)
    call_command("roles_doc", "docs/roles.md", "--check")


@pytest.fixture
def ctx(org: Any, make_user: Any, api_for: Any, web_for: Any) -> SimpleNamespace:
    from saisei.processing.tests.factories import plan_world

    nurse = make_user(Role.NURSE, org)
    return SimpleNamespace(
        org=org,
        world=plan_world(org),
        tech=make_user(Role.CPC_TECHNICIAN, org),
        qa=make_user(Role.QA_MANAGER, org),
        physician=make_user(Role.PHYSICIAN, org),
        nurse=nurse,
        api_for=api_for,
        web_for=web_for,
    )


def _matrix() -> list[tuple[str, str]]:
    return [(code, role) for code in sorted(load_matrix()) for role in Role.values]


def _try(
    case: Case, channel: str, user: Any, ctx: SimpleNamespace, allowed: bool, code: str
) -> None:
    call = case.api if channel == "api" else case.web
    if call is None:
        return
    ctx.actor = user  # before the setup: some subjects belong to the acting user
    subject = case.setup(ctx)
    if code == "administration.second_person":
        ctx.subject_user = user
        ctx.nurse_api = ctx.api_for(subject.world.nurse)
        ctx.nurse_web = ctx.web_for(subject.world.nurse)
    client = ctx.api_for(user) if channel == "api" else ctx.web_for(user)
    before = AuditEntry.objects.count()
    res = call(client, subject, ctx)
    detail = f"{code} as {user.roles} via {channel}: {res.status_code} {res.content[:400]!r}"
    if allowed and case.permitted is not None:
        assert case.permitted(res), detail
    elif allowed:
        assert res.status_code in (API_OK if channel == "api" else WEB_OK), detail
        assert AuditEntry.objects.count() > before, detail
    else:
        assert res.status_code in case.refused, detail
        assert AuditEntry.objects.count() == before, detail


@pytest.mark.parametrize(("code", "role"), _matrix())
def test_the_role_matrix_holds_through_the_api_and_the_page(
    code: str, role: str, ctx: SimpleNamespace, make_user: Any
) -> None:
    act = load_matrix()[code]
    case = CASES[code]
    user = make_user(role, ctx.org)
    allowed = role in act.roles
    _try(case, "api", user, ctx, allowed, code)
    _try(case, "web", user, ctx, allowed, code)


@pytest.mark.parametrize("role", Role.values)
def test_only_a_physician_loosens_an_event_assessment(
    role: str, ctx: SimpleNamespace, make_user: Any
) -> None:
    from saisei.core.errors import Forbidden
    from saisei.safety import services

    event = _event(ctx)
    services.adverse_event_update(actor=ctx.physician, event=event, hospitalisation=True)
    user = make_user(role, ctx.org)
    if role in load_matrix()["adverse_event.assess"].roles:
        services.adverse_event_update(actor=user, event=event, hospitalisation=False)
        event.refresh_from_db()
        assert not event.hospitalisation
    else:
        with pytest.raises(Forbidden):
            services.adverse_event_update(actor=user, event=event, hospitalisation=False)
        event.refresh_from_db()
        assert event.hospitalisation
