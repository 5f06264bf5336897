"""The safety promises of the facilitator network, each tried to be broken."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from saisei.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from saisei.core.models import AuditEntry
from saisei.network import selectors, services
from saisei.network.models import Share

from .conftest import consent, quote, share

pytestmark = pytest.mark.django_db


def test_each_clinic_sees_only_what_was_shared_with_it(net: dict[str, Any]) -> None:
    sa = share(net, "a", fields=["patient_date_of_birth", "diagnosis"], files=True)
    sb = share(net, "b", fields=["patient_date_of_birth", "cognitive_scores"])
    a_staff, b_staff = net["a"]["staff"], net["b"]["staff"]
    seen_a = selectors.shared_record(
        selectors.share_for_clinic(actor=a_staff, external_id=sa.external_id)
    )
    assert [r["field"] for r in seen_a["fields"]] == ["patient_date_of_birth", "diagnosis"]
    assert [f["name"] for f in seen_a["files"]] == ["mri.pdf"]
    seen_b = selectors.shared_record(
        selectors.share_for_clinic(actor=b_staff, external_id=sb.external_id)
    )
    assert [r["field"] for r in seen_b["fields"]] == ["patient_date_of_birth", "cognitive_scores"]
    assert seen_b["files"] == []
    # Neither clinic can open the other's share.
    with pytest.raises(NotFound):
        selectors.share_for_clinic(actor=a_staff, external_id=sb.external_id)
    assert list(selectors.shares_for_clinic(actor=b_staff)) == [sb]


def test_fields_outside_the_agreement_or_documents_not_allowed_are_refused(
    net: dict[str, Any],
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        consent(net, "a", fields=["contact_email"])
    assert exc.value.code == "fields_not_shareable"
    with pytest.raises(ValidationFailed) as exc:
        consent(net, "b", files=True)  # clinic B's agreement shares no documents
    assert exc.value.code == "files_not_shareable"


def test_transfer_abroad_needs_its_own_consent_with_the_information(net: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.referral_consent_give(
            referral=net["referral"],
            agreement=net["agreements"]["a"],
            fields=["diagnosis"],
            file_ids=[],
            given_by_name="王 芳",
            agree=True,
            agree_transfer=False,
            language="zh-hans",
            portal_access=net["access"],
        )
    assert exc.value.code == "transfer_consent_required"
    assert not Share.objects.exists()
    c = consent(net, "a")
    assert c.cross_border and c.recipient_country == "JP"
    assert "个人信息" in c.recipient_country_system or c.recipient_country_system
    assert c.recipient_measures.startswith("Access limited")
    assert "Art. 28" in c.legal_basis


def test_a_country_without_a_described_system_is_never_sent_to(net: dict[str, Any]) -> None:
    clinic = net["a"]["org"]
    clinic.country = "ZZ"
    clinic.save()
    with pytest.raises(Conflict) as exc:
        consent(net, "a")
    assert exc.value.code == "transfer_country_unknown"


def test_no_access_after_revocation(net: dict[str, Any]) -> None:
    s = share(net, "a", files=True)
    staff = net["a"]["staff"]
    assert selectors.share_for_clinic(actor=staff, external_id=s.external_id)
    services.share_revoke(actor=net["coord"], share=s, reason="Family asked")
    with pytest.raises(NotFound):
        selectors.share_for_clinic(actor=staff, external_id=s.external_id)
    assert not selectors.shares_for_clinic(actor=staff).exists()
    with pytest.raises(NotFound):
        quote(net, "a", s)
    assert AuditEntry.objects.filter(action="share.revoke").exists()


def test_no_access_after_consent_withdrawn_or_agreement_ended(net: dict[str, Any]) -> None:
    sa = share(net, "a")
    sb = share(net, "b")
    services.referral_consent_withdraw(consent=sa.consent, reason="", portal_access=net["access"])
    assert not selectors.shares_for_clinic(actor=net["a"]["staff"]).exists()
    services.agreement_end(actor=net["admin"], agreement=net["agreements"]["b"], reason="Ended")
    assert not selectors.shares_for_clinic(actor=net["b"]["staff"]).exists()
    # An agreement past its date ends access too, without anyone ending it.
    net["agreements"]["a"].valid_until = timezone.localdate() - dt.timedelta(days=1)
    net["agreements"]["a"].save()
    with pytest.raises(Conflict):
        consent(net, "a")
    sb.refresh_from_db()
    assert not selectors.share_is_live(sb)


def test_a_quote_for_a_plan_not_in_force_cannot_be_sent(net: dict[str, Any]) -> None:
    s = share(net, "a")
    plan = net["a"]["plan"]
    plan.status = "suspended"
    plan.save()
    with pytest.raises(Conflict) as exc:
        quote(net, "a", s)
    assert exc.value.code == "plan_not_in_force"
    s.refresh_from_db()
    assert s.status == "shared" and s.quote is None


def test_the_commission_always_appears_as_its_own_line(net: dict[str, Any]) -> None:
    sa = quote(net, "a", share(net, "a"))
    ag = net["agreements"]["b"]
    ag.commission_kind, ag.commission_percent, ag.commission_fixed_jpy = "fixed", None, 0
    ag.save()
    sb = quote(net, "b", share(net, "b"))
    rows = {r.clinic: r for r in selectors.comparison(referral=net["referral"])}
    assert rows["Clinic A"].commission_jpy > 0
    assert rows["Clinic B"].commission_jpy == 0
    for s in (sa, sb):
        assert s.quote.lines.filter(kind="commission").count() == 1
    assert (
        rows["Clinic A"].total_jpy
        == rows["Clinic A"].clinic_price_jpy + rows["Clinic A"].commission_jpy
    )


def test_ordering_never_depends_on_the_commission(net: dict[str, Any]) -> None:
    quote(net, "a", share(net, "a"))
    quote(net, "b", share(net, "b"))
    ref = net["referral"]
    by_cost = [r.clinic for r in selectors.comparison(referral=ref, order="cost")]
    by_start = [r.clinic for r in selectors.comparison(referral=ref, order="start")]
    # Make clinic B's commission huge and clinic A's zero: the order stays the same.
    for s in Share.objects.all():
        line = s.quote.lines.get(kind="commission")
        line.unit_price_jpy = line.amount_jpy = 0 if s.clinic.slug == "clinic-a" else 9_000_000
        line.save()
        q = s.quote
        q.total_jpy = sum(ln.amount_jpy for ln in q.lines.all() if ln.included_in_total)
        q.save()
    assert [r.clinic for r in selectors.comparison(referral=ref, order="cost")] == by_cost
    assert [r.clinic for r in selectors.comparison(referral=ref, order="start")] == by_start
    assert all(r.earliest_start for r in selectors.comparison(referral=ref))


def test_accept_one_closes_the_others_with_a_reason(net: dict[str, Any]) -> None:
    sa = quote(net, "a", share(net, "a"))
    sb = quote(net, "b", share(net, "b"))
    with pytest.raises(ValidationFailed):
        services.comparison_accept(
            referral=net["referral"],
            share=sa,
            accepted_by_name="",
            agree=True,
            portal_access=net["access"],
        )
    services.comparison_accept(
        referral=net["referral"],
        share=sa,
        accepted_by_name="王 芳",
        agree=True,
        portal_access=net["access"],
    )
    sa.refresh_from_db()
    sb.refresh_from_db()
    assert sa.status == "accepted" and sa.quote.status == "accepted"
    assert sb.status == "closed" and sb.closed_reason
    with pytest.raises(Conflict):
        services.comparison_accept(
            referral=net["referral"],
            share=sb,
            accepted_by_name="王 芳",
            agree=True,
            portal_access=net["access"],
        )
    rows = selectors.commissions(
        actor=net["coord"], start=timezone.localdate(), end=timezone.localdate()
    )
    assert [r["clinic"] for r in rows] == ["Clinic A"] and rows[0]["commission_jpy"] > 0


def test_clinic_declines_with_a_reason(net: dict[str, Any]) -> None:
    s = share(net, "b")
    with pytest.raises(ValidationFailed):
        services.share_decline(actor=net["b"]["staff"], share=s, reason=" ")
    services.share_decline(actor=net["b"]["staff"], share=s, reason="MMSE too low for our plan")
    row = selectors.comparison(referral=net["referral"])[0]
    assert row.status == "declined" and row.reason == "MMSE too low for our plan"
    times = selectors.response_times(actor=net["coord"])
    assert times[0]["clinic"] == "Clinic B" and times[0]["answered"] == 1


def test_wrong_roles_and_organisations_are_refused(net: dict[str, Any]) -> None:
    s = share(net, "a")
    with pytest.raises(Forbidden):  # a clinic coordinator cannot share for the facilitator
        services.share_revoke(actor=net["a"]["staff"], share=s, reason="x")
    with pytest.raises(Forbidden):  # a facilitator cannot answer for a clinic
        services.share_decline(actor=net["coord"], share=s, reason="x")
    with pytest.raises(Forbidden):  # a coordinator cannot sign agreements
        services.agreement_create(
            actor=net["coord"],
            clinic=net["a"]["org"],
            reference="x",
            commission_kind="fixed",
            commission_fixed_jpy=1,
            commission_payer="clinic",
            shareable_fields=[],
            documents_shareable=False,
            recipient_measures="m",
            valid_from=timezone.localdate(),
            valid_until=timezone.localdate(),
        )
    other_patient_access = net["access"]
    other_patient_access.patient_id = net["patient"].pk + 999
    with pytest.raises(Forbidden):
        consent(net, "b")


def test_agreement_validation(net: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        services.agreement_create(
            actor=net["admin"],
            clinic=net["a"]["org"],
            reference="x",
            commission_kind="percent",
            commission_percent=Decimal("120"),
            commission_payer="clinic",
            shareable_fields=[],
            documents_shareable=False,
            recipient_measures="m",
            valid_from=timezone.localdate(),
            valid_until=timezone.localdate(),
        )
    with pytest.raises(ValidationFailed):
        services.agreement_create(
            actor=net["admin"],
            clinic=net["fac"],
            reference="x",
            commission_kind="fixed",
            commission_fixed_jpy=1,
            commission_payer="clinic",
            shareable_fields=[],
            documents_shareable=False,
            recipient_measures="m",
            valid_from=timezone.localdate(),
            valid_until=timezone.localdate(),
        )
