"""Signed messages between installations (decision 0030): what the receiver refuses, each with
its own 4xx, recorded in the audit ledger, and nothing stored; and what it accepts."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from saisei.core.models import AuditEntry
from saisei.core.tests.factories import OrganisationFactory
from saisei.network import exchange, peering, selectors, services
from saisei.network.models import PeerMessage, Referral, Share

from .conftest import FIELDS, quote, share


@pytest.fixture(autouse=True)
def _own_key(settings: Any, tmp_path: Any) -> None:
    settings.SAISEI_PEER_KEY_FILE = tmp_path / "peer.key"


def remote() -> peering.Identity:
    return peering.Identity(Ed25519PrivateKey.generate())


@pytest.fixture
def clinic_side(net: dict[str, Any]) -> dict[str, Any]:
    """Clinic A here; a facilitator on another installation that it trusts and has an
    agreement with."""
    them = remote()
    far = OrganisationFactory(
        slug="far-bridge", name="Far Bridge", kind="facilitator", country="CN"
    )
    clinic = net["a"]["org"]
    exchange.peer_add(
        organisation=clinic,
        stands_for=far,
        peer_id=them.id,
        inbox_url="http://127.0.0.1:9/network/peer/far-bridge/inbox/",
        public_key=them.public_key,
    )
    today = timezone.localdate()
    services.agreement_record_at_clinic(
        clinic=clinic,
        facilitator=far,
        reference="FAR-1",
        commission_kind="percent",
        commission_percent=Decimal("10"),
        commission_payer="patient",
        shareable_fields=FIELDS,
        recipient_measures="Only the clinic's coordinators and physicians read it.",
        valid_from=today - dt.timedelta(days=1),
        valid_until=today + dt.timedelta(days=100),
    )
    return {"them": them, "far": far, "clinic": clinic, "staff": net["a"]["staff"]}


def referral_payload(**over: Any) -> dict[str, Any]:
    payload = {
        "share": "6f1c1c5e-1111-4a4a-9b9b-000000000001",
        "referral": "R2026-9001",
        "family_country": "CN",
        "language": "zh-hans",
        "agreement": {
            "reference": "FAR-1",
            "commission_kind": "percent",
            "commission_percent": "10.00",
            "commission_fixed_jpy": None,
            "commission_payer": "patient",
        },
        "consent": {
            "fields": ["patient_date_of_birth", "diagnosis"],
            "cross_border": True,
            "recipient_country": "JP",
            "recipient_country_system": "Japan: the APPI applies.",
            "recipient_measures": "Only the clinic's coordinators and physicians read it.",
            "legal_basis": "APPI Art. 28",
            "language": "zh-hans",
            "given_at": "2026-12-01T10:00:00+00:00",
        },
        "fields": {"patient_date_of_birth": "1950-03-01", "diagnosis": "阿尔茨海默病"},
    }
    payload.update(over)
    return payload


def post(slug: str, body: Any) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client().post(
        reverse("network:peer_inbox", args=[slug]), data=raw, content_type="application/json"
    )


def seal(sender: peering.Identity, type: str, payload: dict[str, Any], **kw: Any) -> Any:
    return peering.seal(
        me=sender,
        recipient=kw.pop("recipient", peering.identity().id),
        type=type,
        payload=payload,
        **kw,
    )


def refusals(org: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organisation=org, action="peer_message.refuse"))


def test_a_signed_referral_under_agreement_and_consent_reaches_the_clinic_queue(
    clinic_side: dict[str, Any],
) -> None:
    resp = post("clinic-a", seal(clinic_side["them"], "referral", referral_payload()))
    assert resp.status_code == 200, resp.content
    [received] = selectors.shares_for_clinic(actor=clinic_side["staff"])
    record = selectors.shared_record(received)
    assert {r["field"] for r in record["fields"]} == {"patient_date_of_birth", "diagnosis"}
    assert received.organisation == clinic_side["far"]
    assert received.referral.inquiry.contact_email == ""  # not consented, not sent, not stored
    assert received.consent.cross_border and received.consent.via == "peer"
    assert AuditEntry.objects.filter(
        organisation=clinic_side["clinic"], action="peer_message.referral"
    ).exists()


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("tampered", 401, "bad_signature"),
        ("wrong_key", 401, "bad_signature"),
        ("unknown_sender", 403, "unknown_sender"),
        ("expired", 410, "expired"),
        ("wrong_recipient", 421, "wrong_recipient"),
        ("no_agreement", 403, "no_agreement"),
        ("beyond_consent", 403, "not_consented"),
        ("no_transfer_consent", 403, "no_transfer_consent"),
        ("malformed", 400, "malformed"),
    ],
)
def test_the_receiver_refuses_and_records_and_stores_nothing(
    clinic_side: dict[str, Any], case: str, status: int, code: str
) -> None:
    them = clinic_side["them"]
    body: Any
    if case == "tampered":
        body = seal(them, "referral", referral_payload())
        body["envelope"]["payload"]["fields"]["diagnosis"] = "something else"
    elif case == "wrong_key":
        # Signed with another key while naming the trusted sender.
        impostor = remote()
        env = seal(impostor, "referral", referral_payload())["envelope"]
        env["sender"] = them.id
        body = {
            "envelope": env,
            "signature": peering._b64(impostor.private_key.sign(peering.canonical(env))),
        }
    elif case == "unknown_sender":
        body = seal(remote(), "referral", referral_payload())
    elif case == "expired":
        body = seal(
            them,
            "referral",
            referral_payload(),
            now=timezone.now() - dt.timedelta(hours=2),
            lifetime=dt.timedelta(hours=1),
        )
    elif case == "wrong_recipient":
        body = seal(them, "referral", referral_payload(), recipient=remote().id)
    elif case == "no_agreement":
        body = seal(them, "referral", referral_payload(agreement={"reference": "NOPE"}))
    elif case == "beyond_consent":
        p = referral_payload()
        p["fields"]["contact_email"] = "fang@example.test"
        body = seal(them, "referral", p)
    elif case == "no_transfer_consent":
        p = referral_payload()
        p["consent"]["cross_border"] = False
        body = seal(them, "referral", p)
    else:
        body = b'{"envelope": 1}'
    shares_before = Share.objects.count()
    resp = post("clinic-a", body)
    assert resp.status_code == status, resp.content
    assert resp.json()["error"]["code"] == code
    assert Share.objects.count() == shares_before
    assert not Referral.objects.filter(reference="R2026-9001").exists()
    [entry] = refusals(clinic_side["clinic"])
    assert entry.changes["code"] == code


def test_a_replayed_message_is_refused(clinic_side: dict[str, Any]) -> None:
    body = seal(clinic_side["them"], "referral", referral_payload())
    assert post("clinic-a", body).status_code == 200
    resp = post("clinic-a", body)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "replayed"
    assert Share.objects.filter(clinic=clinic_side["clinic"], peer__isnull=False).count() == 1
    assert [e.changes["code"] for e in refusals(clinic_side["clinic"])] == ["replayed"]


def test_an_inactive_peer_is_unknown(clinic_side: dict[str, Any]) -> None:
    clinic_side["clinic"].peers.update(active=False)
    resp = post("clinic-a", seal(clinic_side["them"], "referral", referral_payload()))
    assert resp.status_code == 403


def test_revocation_from_the_facilitator_ends_the_clinic_access(
    clinic_side: dict[str, Any],
) -> None:
    them = clinic_side["them"]
    assert post("clinic-a", seal(them, "referral", referral_payload())).status_code == 200
    assert selectors.shares_for_clinic(actor=clinic_side["staff"]).count() == 1
    # A clinic's peer may not revoke; only the facilitator's.
    resp = post(
        "clinic-a",
        seal(them, "revocation", {"share": referral_payload()["share"], "reason": "Family asked."}),
    )
    assert resp.status_code == 200, resp.content
    assert selectors.shares_for_clinic(actor=clinic_side["staff"]).count() == 0


# --- at the facilitator: quotes from a clinic on another installation -------------------------


@pytest.fixture
def facilitator_side(net: dict[str, Any]) -> dict[str, Any]:
    them = remote()
    clinic_b = net["b"]["org"]
    exchange.peer_add(
        organisation=net["fac"],
        stands_for=clinic_b,
        peer_id=them.id,
        inbox_url="http://127.0.0.1:9/network/peer/clinic-b/inbox/",
        public_key=them.public_key,
    )
    s = share(net, "b")
    return {"them": them, "share": s, "net": net}


def quote_payload(s: Share, **over: Any) -> dict[str, Any]:
    q = {
        "number": "Q-B-1",
        "version": 1,
        "valid_until": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
        "plan_number": "PB3260002",
        "plan_title": "Plan B",
        "plan_status": "In force",
        "plan_in_force": True,
        "risk_class": 2,
        "facilities": [{"name": "CPC", "number": "F1"}],
        "route": "iv",
        "infusions": 4,
        "cells_per_infusion": 100_000_000,
        "earliest_start": (timezone.localdate() + dt.timedelta(days=40)).isoformat(),
        "clinic_price_jpy": 4_000_000,
        "commission_jpy": 600_000,
        "commission_payer": "patient",
        "total_jpy": 4_600_000,
        "refund_schedule": [],
        "evidence": [],
        "risks": [],
    }
    q.update(over)
    return {"share": str(s.external_id), "quote": q}


def test_a_share_to_a_peer_clinic_is_queued_as_exactly_the_consented_fields(
    facilitator_side: dict[str, Any],
) -> None:
    s = facilitator_side["share"]
    assert s.peer is not None
    [msg] = PeerMessage.objects.filter(direction="out", type="referral")
    payload = msg.body["envelope"]["payload"]
    assert set(payload["fields"]) == set(s.consent.fields) == {"patient_date_of_birth", "diagnosis"}
    assert payload["consent"]["cross_border"] is True
    peering.verify_signature(
        msg.body["envelope"], msg.body["signature"], peering.identity().public_key
    )


def test_a_remote_quote_for_a_plan_not_in_force_is_refused(
    facilitator_side: dict[str, Any],
) -> None:
    s = facilitator_side["share"]
    body = seal(facilitator_side["them"], "quote", quote_payload(s, plan_in_force=False))
    resp = post("bridge", body)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "plan_not_in_force"
    s.refresh_from_db()
    assert s.status == Share.Status.SHARED


def test_a_remote_quote_without_its_commission_line_is_refused(
    facilitator_side: dict[str, Any],
) -> None:
    s = facilitator_side["share"]
    p = quote_payload(s)
    del p["quote"]["commission_jpy"]
    resp = post("bridge", seal(facilitator_side["them"], "quote", p))
    assert resp.status_code == 422


def test_a_remote_quote_appears_in_the_comparison_with_its_commission(
    facilitator_side: dict[str, Any],
) -> None:
    s = facilitator_side["share"]
    resp = post("bridge", seal(facilitator_side["them"], "quote", quote_payload(s)))
    assert resp.status_code == 200, resp.content
    [row] = selectors.comparison(referral=s.referral)
    assert row.quote is not None and row.commission_jpy == 600_000 and row.total_jpy == 4_600_000
    assert row.plan_number == "PB3260002" and row.plan_in_force


def test_a_clinic_answer_after_revocation_is_refused(facilitator_side: dict[str, Any]) -> None:
    s = facilitator_side["share"]
    net = facilitator_side["net"]
    services.share_revoke(actor=net["coord"], share=s, reason="The family changed its mind.")
    assert PeerMessage.objects.filter(direction="out", type="revocation").count() == 1
    resp = post("bridge", seal(facilitator_side["them"], "quote", quote_payload(s)))
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "no_access"


def test_a_facilitator_peer_may_not_send_a_quote(clinic_side: dict[str, Any]) -> None:
    body = seal(clinic_side["them"], "quote", {"share": referral_payload()["share"]})
    resp = post("clinic-a", body)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "wrong_direction"


def test_the_acceptance_names_the_family_only_if_their_name_was_consented(
    facilitator_side: dict[str, Any],
) -> None:
    s = facilitator_side["share"]
    net = facilitator_side["net"]
    assert (
        post("bridge", seal(facilitator_side["them"], "quote", quote_payload(s))).status_code == 200
    )
    s.refresh_from_db()
    services.comparison_accept(
        referral=net["referral"],
        share=s,
        accepted_by_name="王 芳",
        agree=True,
        portal_access=net["access"],
    )
    s.refresh_from_db()
    assert s.status == Share.Status.ACCEPTED
    [msg] = PeerMessage.objects.filter(direction="out", type="acceptance")
    payload = msg.body["envelope"]["payload"]
    assert payload["quote_number"] == "Q-B-1"
    assert "王" not in payload["accepted_by_name"]
    [row] = selectors.commissions(
        actor=net["admin"], start=timezone.localdate(), end=timezone.localdate()
    )
    assert row["commission_jpy"] == 600_000


def test_delivery_retries_a_network_failure_and_stops_at_a_refusal(
    facilitator_side: dict[str, Any], monkeypatch: Any
) -> None:
    import io
    import urllib.error
    from email.message import Message

    [msg] = PeerMessage.objects.filter(direction="out", type="referral")

    def down(*a: Any, **kw: Any) -> Any:
        raise urllib.error.URLError("connection refused")

    monkeypatch.setattr(exchange.urllib.request, "urlopen", down)
    assert exchange.deliver(msg.pk) == PeerMessage.Status.PENDING

    def refused(*a: Any, **kw: Any) -> Any:
        raise urllib.error.HTTPError(
            "http://127.0.0.1:9/", 403, "Forbidden", Message(), io.BytesIO(b'{"error": {}}')
        )

    monkeypatch.setattr(exchange.urllib.request, "urlopen", refused)
    assert exchange.deliver(msg.pk) == PeerMessage.Status.REFUSED
    msg.refresh_from_db()
    assert msg.attempts == 2 and msg.last_error.startswith("403")
    # A refused message is not tried again.
    assert exchange.deliver(msg.pk) == PeerMessage.Status.REFUSED


def test_a_message_to_a_deactivated_peer_is_never_sent(
    facilitator_side: dict[str, Any], monkeypatch: Any
) -> None:
    [msg] = PeerMessage.objects.filter(direction="out", type="referral")
    msg.peer.active = False
    msg.peer.save()

    def must_not_send(*a: Any, **kw: Any) -> Any:
        raise AssertionError("sent to a deactivated peer")

    monkeypatch.setattr(exchange.urllib.request, "urlopen", must_not_send)
    assert exchange.deliver(msg.pk) == PeerMessage.Status.FAILED


def test_peers_command_shows_the_key_and_refuses_a_key_that_does_not_match_the_id(
    net: dict[str, Any], capsys: Any
) -> None:
    from django.core.management import CommandError, call_command

    call_command("peers", "show")
    out = capsys.readouterr().out
    assert peering.identity().id in out and peering.identity().public_key in out
    them, other = remote(), remote()
    with pytest.raises(CommandError):
        call_command(
            "peers",
            "add",
            "--org",
            "bridge",
            "--stands-for",
            "clinic-a",
            f"--id={them.id}",
            "--url",
            "https://a.example/network/peer/clinic-a/inbox/",
            f"--key={other.public_key}",  # a key may begin with "-"
        )
    call_command(
        "peers",
        "add",
        "--org",
        "bridge",
        "--stands-for",
        "clinic-a",
        f"--id={them.id}",
        "--url",
        "https://a.example/network/peer/clinic-a/inbox/",
        f"--key={them.public_key}",  # a key may begin with "-"
    )
    assert exchange.peer_for(net["fac"].pk, net["a"]["org"].pk) is not None


def test_the_facilitator_sees_whether_each_message_reached_the_clinic(
    facilitator_side: dict[str, Any],
) -> None:
    from saisei.core.tests.factories import TEST_PASSWORD

    net = facilitator_side["net"]
    c = Client()
    assert c.login(username=net["coord"].username, password=TEST_PASSWORD)
    page = c.get(f"/network/referrals/{net['referral'].external_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="peer-deliveries"' in html and "Waiting to be sent" in html
    assert "referral:" not in html  # the message's label, never its code


def test_when_the_family_chooses_another_clinic_the_peer_clinic_is_told_to_close(
    facilitator_side: dict[str, Any],
) -> None:
    net = facilitator_side["net"]
    remote_share = facilitator_side["share"]
    assert (
        post(
            "bridge", seal(facilitator_side["them"], "quote", quote_payload(remote_share))
        ).status_code
        == 200
    )
    local = share(net, "a")
    quote(net, "a", local)
    local.refresh_from_db()
    services.comparison_accept(
        referral=net["referral"],
        share=local,
        accepted_by_name="王 芳",
        agree=True,
        portal_access=net["access"],
    )
    remote_share.refresh_from_db()
    assert remote_share.status == Share.Status.CLOSED
    [msg] = PeerMessage.objects.filter(direction="out", type="closure")
    assert msg.body["envelope"]["payload"] == {
        "share": str(remote_share.external_id),
        "reason": services.CLOSED_NOT_CHOSEN,
    }


def test_a_closure_from_the_facilitator_closes_the_clinic_copy_once(
    clinic_side: dict[str, Any],
) -> None:
    them = clinic_side["them"]
    assert post("clinic-a", seal(them, "referral", referral_payload())).status_code == 200
    closure = {"share": referral_payload()["share"], "reason": "The family chose another clinic."}
    resp = post("clinic-a", seal(them, "closure", closure))
    assert resp.status_code == 200, resp.content
    [s] = Share.objects.filter(clinic=clinic_side["clinic"])
    assert s.status == Share.Status.CLOSED
    assert s.closed_reason == "The family chose another clinic."
    again = post("clinic-a", seal(them, "closure", closure))
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "share_not_open"


def test_documents_cannot_be_chosen_for_a_clinic_on_another_installation(
    facilitator_side: dict[str, Any],
) -> None:
    """Only the consented fields travel between installations, so the family is never asked to
    send documents there: choosing one is refused, not silently dropped."""
    net = facilitator_side["net"]
    agreement = facilitator_side["share"].agreement
    agreement.documents_shareable = True
    agreement.save(update_fields=["documents_shareable"])
    assert services.documents_may_travel(agreement) is False
    upload = net["referral"].inquiry.files.create(
        organisation=net["referral"].inquiry.organisation,
        file="journey/inquiries/scan.pdf",
        original_name="scan.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
    )
    with pytest.raises(services.ValidationFailed) as exc:
        services._consent_fields_and_files(
            referral=net["referral"],
            agreement=agreement,
            fields=["diagnosis"],
            file_ids=[str(upload.external_id)],
        )
    assert exc.value.code == "files_not_shareable"
