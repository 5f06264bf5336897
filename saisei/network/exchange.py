"""Referrals and quotes between two Saisei installations, as signed messages (decision 0030).

Sending: a service that changes a share with a peer at the other end queues one signed message
in the same transaction (``PeerMessage``, direction out); the worker delivers it
(``tasks.deliver_peer_message``), retrying a network failure or a 5xx with a growing delay and
giving up on a 4xx (the receiver refused it for good; the refusal is kept on the message).

Receiving (``receive``) fails closed, in this order, each refusal a specific 4xx recorded in the
receiving organisation's audit ledger: malformed (400), unknown or inactive sender (403), bad
signature (401), addressed to another installation (421), expired (410), replayed id (409),
then the message's own rules: no partner agreement in force or no consent for that clinic (403),
fields beyond the consent (403), unknown share (404), wrong state (409), bad payload (422). A
message is applied in one transaction with the record of its id, so nothing is half-written.

Every message is keyed by the facilitator's share id: the facilitator's messages name its own
share, the clinic answers naming the same id (kept on its share as ``remote_id``).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from saisei.core.audit import audit_record
from saisei.core.errors import DomainError, NotFound
from saisei.core.models import Organisation
from saisei.journey import selectors as journey_selectors

from . import peering, rules
from .models import PartnerAgreement, Peer, PeerMessage, Referral, ReferralConsent, Share

if TYPE_CHECKING:
    from saisei.journey.models import Inquiry

MAX_ATTEMPTS = 6
SEND_TIMEOUT_S = 15


class Refused(peering.EnvelopeRefused):
    pass


# --- the registry -----------------------------------------------------------------------------


def peer_add(
    *,
    organisation: Organisation,
    stands_for: Organisation,
    peer_id: str,
    inbox_url: str,
    public_key: str,
) -> Peer:
    """Trust another installation: its key must be a valid Ed25519 key and match its id."""
    try:
        peering.public_key_from_text(public_key)
    except ValueError as exc:
        raise ValueError(f"Not an Ed25519 public key: {exc}") from exc
    if peering.installation_id(public_key) != peer_id:
        raise ValueError("The installation id does not belong to this public key.")
    if not inbox_url.startswith(("https://", "http://")):
        raise ValueError("The inbox URL must be an http(s) URL.")
    if stands_for.pk == organisation.pk:
        raise ValueError("A peer stands for another organisation than our own.")
    with transaction.atomic():
        Peer.objects.filter(organisation=organisation, stands_for=stands_for, active=True).update(
            active=False
        )
        peer, _ = Peer.objects.update_or_create(
            organisation=organisation,
            peer_id=peer_id,
            defaults={
                "inbox_url": inbox_url,
                "public_key": public_key,
                "stands_for": stands_for,
                "active": True,
            },
        )
        audit_record(
            actor=None,
            organisation=organisation,
            action="peer.add",
            subject=peer,
            changes={"peer_id": peer_id, "inbox_url": inbox_url, "stands_for": stands_for.slug},
        )
    return peer


def peer_for(organisation_id: int, party_id: int) -> Peer | None:
    """The active peer installation that stands for ``party`` at ``organisation``, if any."""
    return (
        Peer.objects.filter(organisation_id=organisation_id, stands_for_id=party_id, active=True)
        .select_related("stands_for")
        .first()
    )


def is_facilitator_side(share: Share) -> bool:
    return share.peer is not None and share.peer.stands_for_id == share.clinic_id


# --- sending ----------------------------------------------------------------------------------


def _queue(*, peer: Peer, type: str, payload: dict[str, Any]) -> PeerMessage:
    """Seal and store one message; it is sent after the transaction commits."""
    body = peering.seal(me=peering.identity(), recipient=peer.peer_id, type=type, payload=payload)
    env = body["envelope"]
    msg = PeerMessage.objects.create(
        organisation=peer.organisation,
        peer=peer,
        direction=PeerMessage.Direction.OUT,
        message_id=env["id"],
        type=type,
        body=body,
        status=PeerMessage.Status.PENDING,
        expires_at=peering._parse_time(env["expires_at"]),
    )
    audit_record(
        actor=None,
        organisation=peer.organisation,
        action="peer_message.queue",
        subject=msg,
        changes={"type": type, "peer": peer.peer_id, "share": payload.get("share")},
    )

    def enqueue() -> None:
        from .tasks import deliver_peer_message

        deliver_peer_message.enqueue(message_pk=msg.pk)

    transaction.on_commit(enqueue)
    return msg


def plain(value: Any) -> Any:
    """A value as signed JSON carries it: numbers that are not integers become text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def _field_value(inquiry: Inquiry, name: str) -> str:
    value = getattr(inquiry, name, "")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else str(value)


def send_referral(share: Share, peer: Peer) -> PeerMessage:
    """Exactly the consented fields, the consent as given, and the agreement it relies on."""
    consent: ReferralConsent = share.consent
    inquiry = share.referral.inquiry
    agreement = share.agreement
    return _queue(
        peer=peer,
        type="referral",
        payload={
            "share": str(share.external_id),
            "referral": share.referral.reference,
            "family_country": share.referral.family_country,
            "language": inquiry.language,
            "agreement": {
                "reference": agreement.reference,
                "commission_kind": agreement.commission_kind,
                "commission_percent": (
                    str(agreement.commission_percent)
                    if agreement.commission_percent is not None
                    else None
                ),
                "commission_fixed_jpy": agreement.commission_fixed_jpy,
                "commission_payer": agreement.commission_payer,
            },
            "consent": {
                "fields": list(consent.fields),
                "cross_border": consent.cross_border,
                "recipient_country": consent.recipient_country,
                "recipient_country_system": consent.recipient_country_system,
                "recipient_measures": consent.recipient_measures,
                "legal_basis": consent.legal_basis,
                "language": consent.language,
                "given_at": consent.given_at.astimezone(dt.UTC).isoformat(),
            },
            "fields": {name: _field_value(inquiry, name) for name in share.fields},
        },
    )


def send_revocation(share: Share, reason: str) -> PeerMessage | None:
    if share.peer is None or not is_facilitator_side(share):
        return None
    return _queue(
        peer=share.peer,
        type="revocation",
        payload={"share": str(share.external_id), "reason": reason},
    )


def send_closure(share: Share) -> PeerMessage | None:
    """The family chose another clinic: the clinic on the other installation closes its copy."""
    if share.peer is None or not is_facilitator_side(share):
        return None
    return _queue(
        peer=share.peer,
        type="closure",
        payload={"share": str(share.external_id), "reason": share.closed_reason},
    )


def send_decline(share: Share) -> PeerMessage | None:
    if share.peer is None or is_facilitator_side(share):
        return None
    return _queue(
        peer=share.peer,
        type="decline",
        payload={"share": str(share.remote_id), "reason": share.decline_reason},
    )


def send_quote(share: Share, summary: dict[str, Any]) -> PeerMessage | None:
    if share.peer is None or is_facilitator_side(share):
        return None
    return _queue(
        peer=share.peer,
        type="quote",
        payload={"share": str(share.remote_id), "quote": summary},
    )


def send_acceptance(share: Share, accepted_by_name: str) -> PeerMessage | None:
    """The family's acceptance; the name of who accepted travels only if the family consented
    to share their name with this clinic (otherwise the referral's reference stands for it)."""
    if share.peer is None or not is_facilitator_side(share):
        return None
    if "contact_name" not in share.fields:
        accepted_by_name = f"Family of referral {share.referral.reference}"
    return _queue(
        peer=share.peer,
        type="acceptance",
        payload={
            "share": str(share.external_id),
            "quote_number": (share.remote_quote or {}).get("number", ""),
            "quote_version": (share.remote_quote or {}).get("version", 0),
            "accepted_by_name": accepted_by_name,
            "accepted_at": timezone.now().astimezone(dt.UTC).isoformat(),
        },
    )


def deliver(message_pk: int) -> str:
    """One attempt to deliver a queued message; returns its new status. A 4xx is final."""
    msg = PeerMessage.objects.select_related("peer").get(pk=message_pk)
    if msg.status != PeerMessage.Status.PENDING or msg.peer is None:
        return msg.status
    if not msg.peer.active:
        # Trust was withdrawn after the message was queued: never sent (fail closed).
        msg.status = PeerMessage.Status.FAILED
        msg.last_error = "The peer was deactivated."
        msg.save(update_fields=["status", "last_error", "updated_at"])
        return msg.status
    data = json.dumps(msg.body, ensure_ascii=False).encode()
    req = urllib.request.Request(  # noqa: S310 (the URL is an http(s) URL checked by peer_add)
        msg.peer.inbox_url,
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    msg.attempts += 1
    try:
        with urllib.request.urlopen(req, timeout=SEND_TIMEOUT_S) as resp:  # noqa: S310
            resp.read()
        msg.status = PeerMessage.Status.DELIVERED
        msg.last_error = ""
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:2000].decode(errors="replace")
        msg.last_error = f"{exc.code} {detail}"
        if 400 <= exc.code < 500:
            msg.status = PeerMessage.Status.REFUSED
        elif msg.attempts >= MAX_ATTEMPTS:
            msg.status = PeerMessage.Status.FAILED
    except (urllib.error.URLError, OSError) as exc:
        msg.last_error = str(exc)[:2000]
        if msg.attempts >= MAX_ATTEMPTS:
            msg.status = PeerMessage.Status.FAILED
    msg.save(update_fields=["attempts", "status", "last_error", "updated_at"])
    return msg.status


def retry_delay(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2**attempts, 120))


# --- receiving --------------------------------------------------------------------------------


def _refuse(code: str, status: int, message: str) -> Refused:
    return Refused(code, status, message)


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise _refuse("bad_payload", 422, "A share id is not a UUID.") from exc


def _text(payload: dict[str, Any], key: str, max_length: int = 2000) -> str:
    value = payload.get(key, "")
    if not isinstance(value, str) or len(value) > max_length:
        raise _refuse("bad_payload", 422, f"'{key}' must be text.")
    return value


def _referral_agreement(peer: Peer, ag: dict[str, Any]) -> PartnerAgreement:
    """The facilitator's agreement in force that the referral names, with our clinic."""
    today = timezone.localdate()
    agreement = next(
        (
            a
            for a in PartnerAgreement.objects.filter(
                organisation=peer.stands_for,
                reference=str(ag.get("reference", "")),
                clinic__kind=Organisation.Kind.CLINIC_GROUP,
            ).select_related("clinic")
            if a.live_on(today)
        ),
        None,
    )
    if agreement is None:
        raise _refuse(
            "no_agreement", 403, "No partner agreement with this facilitator is in force."
        )
    if agreement.clinic_id != peer.organisation_id:
        raise _refuse("no_agreement", 403, "The agreement is with another clinic.")
    return agreement


def _referral_consented(
    agreement: PartnerAgreement, consent: dict[str, Any], fields: dict[str, Any]
) -> list[Any]:
    """The fields the family consented to: within the agreement, and covering what is sent."""
    consented = consent.get("fields")
    if not isinstance(consented, list) or not consented:
        raise _refuse("no_consent", 403, "The family's consent to this clinic is missing.")
    if not set(consented) <= set(agreement.shareable_fields):
        raise _refuse("no_consent", 403, "The consent names fields the agreement does not allow.")
    if not set(fields) <= set(consented):
        raise _refuse("not_consented", 403, "The referral carries fields beyond the consent.")
    return consented


def _check_transfer_consent(consent: dict[str, Any], clinic_country: str) -> None:
    """A transfer abroad needs the family's consent with the recipient country's information."""
    if not (
        consent.get("cross_border") is True
        and consent.get("recipient_country") == clinic_country
        and _text(consent, "recipient_country_system")
        and _text(consent, "recipient_measures")
    ):
        raise _refuse(
            "no_transfer_consent",
            403,
            "The family did not consent to the transfer abroad with the required information.",
        )


def _referral_values(fields: dict[str, Any]) -> dict[str, Any]:
    """The sent fields as inquiry values: shareable text, a real date of birth, known choices."""
    values: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in rules.SHAREABLE_FIELDS or not isinstance(value, str) or len(value) > 5000:
            raise _refuse("bad_payload", 422, f"Field '{name}' is not a shareable text field.")
        values[name] = value
    if values.get("patient_date_of_birth"):
        try:
            values["patient_date_of_birth"] = dt.date.fromisoformat(values["patient_date_of_birth"])
        except ValueError as exc:
            raise _refuse("bad_payload", 422, "The date of birth is not a date.") from exc
    else:
        values.pop("patient_date_of_birth", None)
    for name in ("patient_sex", "mobility"):
        if values.get(name) and values[name] not in journey_selectors.inquiry_choices(name):
            raise _refuse("bad_payload", 422, f"Field '{name}' has an unknown value.")
    return values


def _consent_given_at(consent: dict[str, Any]) -> dt.datetime:
    try:
        given_at = dt.datetime.fromisoformat(_text(consent, "given_at", 40))
    except ValueError as exc:
        raise _refuse("bad_payload", 422, "The consent's time is not ISO 8601.") from exc
    if given_at.tzinfo is None:
        raise _refuse("bad_payload", 422, "The consent's time carries no zone.")
    return given_at


def _peer_inquiry(
    facilitator: Organisation, language: str, values: dict[str, Any], given_at: dt.datetime
) -> Inquiry:
    """The referral's person as the facilitator's inquiry (privacy notice given by the peer)."""
    from saisei.journey import services as journey_services

    return journey_services.inquiry_record_referred(
        facilitator=facilitator, language=language, values=values, given_at=given_at
    )


def _on_referral(peer: Peer, payload: dict[str, Any]) -> Share:
    """A facilitator's referral to one of our clinics, under its agreement and the family's
    consent to that clinic; stored as a share the clinic reads in its queue."""
    remote_id = _uuid(payload.get("share"))
    ag = payload.get("agreement")
    consent = payload.get("consent")
    fields = payload.get("fields")
    if not (isinstance(ag, dict) and isinstance(consent, dict) and isinstance(fields, dict)):
        raise _refuse("bad_payload", 422, "A referral carries agreement, consent and fields.")
    agreement = _referral_agreement(peer, ag)
    consented = _referral_consented(agreement, consent, fields)
    family_country = _text(payload, "family_country", 2).upper()
    clinic_country = agreement.clinic.country
    cross_border = family_country != clinic_country
    if cross_border:
        _check_transfer_consent(consent, clinic_country)
    if Share.objects.filter(peer=peer, remote_id=remote_id).exists():
        raise _refuse("duplicate", 409, "This referral was already received.")
    values = _referral_values(fields)
    given_at = _consent_given_at(consent)
    language = _text(payload, "language", 10) or "en"
    facilitator = peer.stands_for
    inquiry = _peer_inquiry(facilitator, language, values, given_at)
    reference = _text(payload, "referral", 16)
    if not reference or Referral.objects.filter(reference=reference).exists():
        reference = f"P{uuid.uuid4().hex[:11].upper()}"
    referral = Referral.objects.create(
        organisation=facilitator,
        reference=reference,
        inquiry=inquiry,
        family_country=family_country,
    )
    rc = ReferralConsent.objects.create(
        organisation=facilitator,
        referral=referral,
        clinic=agreement.clinic,
        agreement=agreement,
        fields=list(consented),
        cross_border=cross_border,
        recipient_country=clinic_country,
        recipient_country_system=_text(consent, "recipient_country_system", 5000),
        recipient_measures=_text(consent, "recipient_measures", 5000),
        legal_basis=_text(consent, "legal_basis", 200),
        language=_text(consent, "language", 10) or language,
        given_by_name=facilitator.name[:200],
        given_at=given_at,
        via="peer",
    )
    return Share.objects.create(
        organisation=facilitator,
        referral=referral,
        clinic=agreement.clinic,
        agreement=agreement,
        consent=rc,
        fields=list(fields),
        shared_by=None,
        shared_at=timezone.now(),
        peer=peer,
        remote_id=remote_id,
    )


def _facilitator_share(peer: Peer, payload: dict[str, Any]) -> Share:
    """Our share the clinic's message answers; only while the clinic may still see it."""
    from .selectors import share_is_live

    share = (
        Share.objects.filter(
            external_id=_uuid(payload.get("share")),
            organisation=peer.organisation,
            clinic=peer.stands_for,
            peer=peer,
        )
        .select_related("referral", "agreement")
        .first()
    )
    if share is None:
        raise _refuse("unknown_share", 404, "No such referral was sent to this clinic.")
    if not share_is_live(share):
        raise _refuse("no_access", 403, "Sharing with this clinic has ended.")
    if share.status != Share.Status.SHARED:
        raise _refuse("share_answered", 409, "This referral has already been answered.")
    return share


QUOTE_KEYS: dict[str, type | tuple[type, ...]] = {
    "number": str,
    "version": int,
    "valid_until": str,
    "plan_number": str,
    "plan_title": str,
    "plan_status": str,
    "plan_in_force": bool,
    "risk_class": int,
    "facilities": list,
    "route": str,
    "infusions": int,
    "cells_per_infusion": int,
    "earliest_start": (str, type(None)),
    "clinic_price_jpy": int,
    "commission_jpy": int,
    "commission_payer": str,
    "total_jpy": int,
    "refund_schedule": list,
    "evidence": list,
    "risks": list,
}


def _on_quote(peer: Peer, payload: dict[str, Any]) -> Share:
    share = _facilitator_share(peer, payload)
    q = payload.get("quote")
    if not isinstance(q, dict):
        raise _refuse("bad_payload", 422, "A quote message carries a quote.")
    for key, kind in QUOTE_KEYS.items():
        if (
            key not in q
            or not isinstance(q[key], kind)
            or isinstance(q[key], bool) is not (kind is bool)
        ):
            raise _refuse("bad_payload", 422, f"The quote's '{key}' is missing or of a wrong type.")
    if not q["plan_in_force"]:
        raise _refuse("plan_not_in_force", 409, "A quote for a plan not in force is refused.")
    # The commission always appears, as its own line, and as the agreement says.
    payer = share.agreement.commission_payer
    if q["commission_payer"] != payer or q["commission_jpy"] < 0:
        raise _refuse("commission_mismatch", 422, "The commission line does not match.")
    if share.agreement.commission_kind == PartnerAgreement.CommissionKind.FIXED and q[
        "commission_jpy"
    ] != (share.agreement.commission_fixed_jpy or 0):
        raise _refuse("commission_mismatch", 422, "The commission line does not match.")
    expected_total = q["clinic_price_jpy"] + (q["commission_jpy"] if payer == "patient" else 0)
    if q["total_jpy"] != expected_total:
        raise _refuse("bad_payload", 422, "The total does not add up.")
    try:
        valid_until = dt.date.fromisoformat(q["valid_until"])
        start = dt.date.fromisoformat(q["earliest_start"]) if q["earliest_start"] else None
    except ValueError as exc:
        raise _refuse("bad_payload", 422, "A quote date is not a date.") from exc
    if valid_until < timezone.localdate():
        raise _refuse("quote_expired", 409, "The quote has already expired.")
    share.remote_quote = {k: q[k] for k in QUOTE_KEYS}
    share.status = Share.Status.QUOTED
    share.quoted_at = timezone.now()
    share.earliest_start = start
    share.save(
        update_fields=["remote_quote", "status", "quoted_at", "earliest_start", "updated_at"]
    )
    return share


def _on_decline(peer: Peer, payload: dict[str, Any]) -> Share:
    share = _facilitator_share(peer, payload)
    reason = _text(payload, "reason").strip()
    if not reason:
        raise _refuse("bad_payload", 422, "A decline carries its reason.")
    share.status = Share.Status.DECLINED
    share.declined_at = timezone.now()
    share.decline_reason = reason
    share.save(update_fields=["status", "declined_at", "decline_reason", "updated_at"])
    return share


def _clinic_share(peer: Peer, payload: dict[str, Any]) -> Share:
    share = (
        Share.objects.filter(
            peer=peer,
            remote_id=_uuid(payload.get("share")),
            organisation=peer.stands_for,
            clinic=peer.organisation,
        )
        .select_related("quote", "referral")
        .first()
    )
    if share is None:
        raise _refuse("unknown_share", 404, "No such referral was received from this peer.")
    return share


def _on_revocation(peer: Peer, payload: dict[str, Any]) -> Share:
    from .services import _revoke

    share = _clinic_share(peer, payload)
    if share.revoked_at is not None:
        raise _refuse("share_revoked", 409, "Sharing has already ended.")
    reason = _text(payload, "reason").strip() or "Revoked by the facilitator."
    _revoke(share, actor=None, reason=reason, now=timezone.now())
    return share


def _on_closure(peer: Peer, payload: dict[str, Any]) -> Share:
    share = _clinic_share(peer, payload)
    if share.status not in (Share.Status.SHARED, Share.Status.QUOTED):
        raise _refuse("share_not_open", 409, "This referral is no longer open.")
    reason = _text(payload, "reason").strip()
    if not reason:
        raise _refuse("bad_payload", 422, "A closure carries its reason.")
    share.status = Share.Status.CLOSED
    share.closed_reason = reason
    share.save(update_fields=["status", "closed_reason", "updated_at"])
    return share


def _on_acceptance(peer: Peer, payload: dict[str, Any]) -> Share:
    from saisei.journey import services as journey_services
    from saisei.journey.lifecycles import QUOTE

    from .selectors import share_is_live

    share = _clinic_share(peer, payload)
    quote = share.quote
    if share.status != Share.Status.QUOTED or quote is None or not share_is_live(share):
        raise _refuse("quote_not_available", 409, "This quote can no longer be accepted.")
    if quote.number != payload.get("quote_number") or quote.version != payload.get("quote_version"):
        raise _refuse("quote_mismatch", 409, "The family accepted another version of the quote.")
    today = timezone.localdate()
    if quote.valid_until < today:
        raise _refuse("quote_expired", 409, "This quote has expired.")
    if journey_services.plan_version_in_force(plan=quote.plan, day=today) is None:
        raise _refuse("plan_not_in_force", 409, "The plan is no longer in force.")
    name = _text(payload, "accepted_by_name", 200).strip()
    if not name:
        raise _refuse("bad_payload", 422, "The acceptance names who accepted.")
    QUOTE.apply(
        quote,
        "accept",
        actor=None,
        updates={
            "accepted_at": timezone.now(),
            "accepted_by_name": name,
            "acceptance_evidence": {
                "via": "peer_installation",
                "peer": peer.peer_id,
                "facilitator_share": str(share.remote_id),
                "accepted_at": _text(payload, "accepted_at", 40),
                "total_jpy": quote.total_jpy,
                "version": quote.version,
            },
        },
        changes={"by": name, "via": "peer_installation"},
        audit_action="quote.accept",
    )
    share.status = Share.Status.ACCEPTED
    share.save(update_fields=["status", "updated_at"])
    return share


HANDLERS: dict[str, Callable[[Peer, dict[str, Any]], Share]] = {
    "referral": _on_referral,
    "quote": _on_quote,
    "decline": _on_decline,
    "revocation": _on_revocation,
    "acceptance": _on_acceptance,
    "closure": _on_closure,
}
# Which side may send which message: a facilitator's peer sends referrals, revocations,
# acceptances and closures; a clinic's peer sends quotes and declines.
FROM_FACILITATOR = {"referral", "revocation", "acceptance", "closure"}


def _record_refusal(
    org: Organisation, env: dict[str, Any] | None, peer: Peer | None, exc: peering.EnvelopeRefused
) -> None:
    env = env or {}
    with transaction.atomic():
        audit_record(
            actor=None,
            organisation=org,
            action="peer_message.refuse",
            subject=("network.PeerMessage", str(env.get("id", ""))[:64] or "-"),
            changes={
                "code": exc.code,
                "status": exc.status,
                "sender": str(env.get("sender", ""))[:80],
                "type": str(env.get("type", ""))[:20],
                "peer": peer.peer_id if peer else None,
            },
            reason=exc.message,
        )


def receive(*, organisation_slug: str, body: bytes) -> dict[str, Any]:
    """Check and apply one signed message addressed to ``organisation_slug`` at this
    installation; raise ``EnvelopeRefused`` (recorded in the audit ledger) if refused."""
    org = Organisation.objects.filter(slug=organisation_slug).first()
    if org is None:
        raise NotFound()
    env: dict[str, Any] | None = None
    peer: Peer | None = None
    verified = False
    try:
        env, sig = peering.parse(body)
        peer = (
            Peer.objects.filter(organisation=org, peer_id=env["sender"], active=True)
            .select_related("stands_for", "organisation")
            .first()
        )
        if peer is None:
            raise _refuse("unknown_sender", 403, "The sender is not a trusted peer.")
        peering.verify_signature(env, sig, peer.public_key)
        verified = True
        if env["recipient"] != peering.identity().id:
            raise _refuse("wrong_recipient", 421, "The message is for another installation.")
        expires = peering.check_times(env)
        if PeerMessage.objects.filter(
            direction=PeerMessage.Direction.IN, message_id=env["id"]
        ).exists():
            raise _refuse("replayed", 409, "This message was already received.")
        sender_is_facilitator = peer.stands_for.kind == Organisation.Kind.FACILITATOR
        if (env["type"] in FROM_FACILITATOR) is not sender_is_facilitator:
            raise _refuse("wrong_direction", 403, "This peer may not send this message.")
        with transaction.atomic():
            try:
                with transaction.atomic():
                    PeerMessage.objects.create(
                        organisation=org,
                        peer=peer,
                        direction=PeerMessage.Direction.IN,
                        message_id=env["id"],
                        type=env["type"],
                        body={"envelope": env, "signature": sig},
                        status=PeerMessage.Status.ACCEPTED,
                        expires_at=expires,
                    )
            except IntegrityError as exc:  # the same id arriving twice at once
                raise _refuse("replayed", 409, "This message was already received.") from exc
            try:
                share = HANDLERS[env["type"]](peer, env["payload"])
            except DomainError as exc:  # a service's own refusal (e.g. the quote's lifecycle)
                raise _refuse(exc.code, exc.status_code, str(exc.message)) from exc
            audit_record(
                actor=None,
                organisation=org,
                action=f"peer_message.{env['type']}",
                subject=share,
                changes={"message": env["id"], "peer": peer.peer_id, "status": share.status},
            )
        return {"status": "accepted", "message": env["id"], "share": str(share.external_id)}
    except peering.EnvelopeRefused as exc:
        if verified and env is not None:
            # A signed message that was refused is still seen: its replay is refused too.
            PeerMessage.objects.get_or_create(
                direction=PeerMessage.Direction.IN,
                message_id=env["id"],
                defaults={
                    "organisation": org,
                    "peer": peer,
                    "type": env["type"],
                    "body": {"envelope": env},
                    "status": PeerMessage.Status.REFUSED,
                    "last_error": exc.code,
                },
            )
        _record_refusal(org, env, peer, exc)
        raise
