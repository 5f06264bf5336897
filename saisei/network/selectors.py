"""Reads of the facilitator network, scoped to the actor's organisation.

A clinic reads a referral only through a live share: not revoked, its consent not withdrawn, its
agreement in force today (fail closed: any of the three missing returns nothing, 404).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from saisei.core.errors import Forbidden, NotFound
from saisei.core.models import User

from . import permissions as perms
from . import rules
from .models import PartnerAgreement, PeerMessage, Referral, Share


def _live_q(day: dt.date) -> Q:
    return Q(
        revoked_at__isnull=True,
        voided_at__isnull=True,
        consent__withdrawn_at__isnull=True,
        consent__voided_at__isnull=True,
        agreement__ended_at__isnull=True,
        agreement__voided_at__isnull=True,
        agreement__valid_from__lte=day,
        agreement__valid_until__gte=day,
        referral__voided_at__isnull=True,
    )


def share_is_live(share: Share, day: dt.date | None = None) -> bool:
    return Share.objects.filter(_live_q(day or timezone.localdate()), pk=share.pk).exists()


def shares_for_clinic(*, actor: User) -> QuerySet[Share]:
    """The referrals shared with the actor's clinic that it may still see."""
    if not (perms.can_view_referrals(actor) and actor.organisation_id):
        return Share.objects.none()
    return (
        Share.objects.filter(_live_q(timezone.localdate()), clinic_id=actor.organisation_id)
        .select_related("referral__inquiry", "organisation", "quote")
        .order_by("-shared_at")
    )


def share_for_clinic(*, actor: User, external_id: Any) -> Share:
    share = shares_for_clinic(actor=actor).filter(external_id=external_id).first()
    if share is None:
        raise NotFound()
    return share


def shared_record(share: Share) -> dict[str, Any]:
    """Exactly the consented fields and documents of a live share (call after share_for_clinic)."""
    inquiry = share.referral.inquiry
    rows = []
    for name in share.fields:
        value = getattr(inquiry, name, "")
        if hasattr(inquiry, f"get_{name}_display") and value:
            value = getattr(inquiry, f"get_{name}_display")()
        rows.append(
            {"field": name, "label": str(rules.SHAREABLE_FIELDS.get(name, name)), "value": value}
        )
    return {
        "reference": share.referral.reference,
        "facilitator": share.organisation.name,
        "language": inquiry.language,
        "fields": rows,
        "files": [
            {"id": str(f.external_id), "name": f.original_name, "size": f.size}
            for f in share.files.all()
        ],
    }


def shared_file(share: Share, file_id: Any) -> Any:
    f = share.files.filter(external_id=file_id, voided_at__isnull=True).first()
    if f is None:
        raise NotFound()
    return f


# --- the facilitator's reads ------------------------------------------------------------------


def _facilitator(actor: User) -> None:
    if not (perms.can_view_referrals(actor) and perms.is_facilitator(actor)):
        raise Forbidden()


def agreement_list(*, actor: User) -> QuerySet[PartnerAgreement]:
    _facilitator(actor)
    return PartnerAgreement.objects.filter(
        organisation_id=actor.organisation_id, voided_at__isnull=True
    ).select_related("clinic")


def referral_list(*, actor: User) -> QuerySet[Referral]:
    _facilitator(actor)
    return (
        Referral.objects.filter(organisation_id=actor.organisation_id, voided_at__isnull=True)
        .select_related("inquiry")
        .prefetch_related("shares__clinic")
    )


def referral_get(*, actor: User, external_id: Any) -> Referral:
    # Outside a facilitator's own referrals there is nothing to see: 404, as for any record of
    # another organisation (the list itself answers 403 to a role that may not read referrals).
    if not (perms.can_view_referrals(actor) and perms.is_facilitator(actor)):
        raise NotFound()
    r = referral_list(actor=actor).filter(external_id=external_id).first()
    if r is None:
        raise NotFound()
    return r


# --- the comparison ---------------------------------------------------------------------------


@dataclass
class QuoteRow:
    """One clinic's answer as the family and the facilitator compare it."""

    share: Share
    clinic: str
    status: str
    quote: Any = None
    plan_number: str = ""
    plan_title: str = ""
    risk_class: int | None = None
    plan_status: str = ""
    plan_in_force: bool = False
    facilities: list[dict[str, Any]] = field(default_factory=list)
    route: str = ""
    infusions: int | None = None
    cells_per_infusion: int | None = None
    earliest_start: dt.date | None = None
    clinic_price_jpy: int = 0
    commission_jpy: int = 0
    commission_payer: str = ""
    total_jpy: int = 0
    refund_schedule: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    reason: str = ""
    refunds: list[dict[str, Any]] = field(default_factory=list)
    route_label: str = ""
    deliveries: list[Any] = field(default_factory=list)


def _order_key(order: str) -> Any:
    """Neutral order: earliest start or the clinic's price, never the commission; ties by
    clinic name. Rows without a quote come last."""

    def key(row: QuoteRow) -> tuple[Any, ...]:
        if row.quote is None:
            return (1, dt.date.max, 0, row.clinic)
        if order == Referral.Order.COST:
            return (0, row.clinic_price_jpy, row.earliest_start or dt.date.max, row.clinic)
        return (0, row.earliest_start or dt.date.max, row.clinic_price_jpy, row.clinic)

    return key


def quote_row(share: Share, *, day: dt.date) -> QuoteRow:
    """One clinic's answer: from its quote here, or as a clinic on another installation sent it
    (decision 0030), the plan's status then as that clinic's registry gave it."""
    from saisei.journey.services import plan_version_in_force

    row = QuoteRow(
        share=share,
        clinic=share.clinic.name,
        status=share.status,
        reason=share.decline_reason or share.closed_reason or share.revoke_reason,
    )
    answered = share.status in (Share.Status.QUOTED, Share.Status.ACCEPTED, Share.Status.CLOSED)
    q = share.quote
    if q is not None and answered:
        d = q.disclosures or {}
        lines = list(q.lines.all())
        commission = sum(ln.amount_jpy for ln in lines if ln.kind == "commission")
        row.quote = q
        row.plan_number = d.get("plan_number", "")
        row.plan_title = d.get("plan_title", "")
        row.risk_class = q.plan.risk_class
        row.plan_status = q.plan.get_status_display()
        row.plan_in_force = plan_version_in_force(plan=q.plan, day=day) is not None
        row.facilities = d.get("facilities", [])
        row.route = share.package.route if share.package else ""
        row.infusions = q.infusions
        row.cells_per_infusion = share.package.dose_cells if share.package else None
        row.earliest_start = share.earliest_start
        row.commission_jpy = commission
        row.commission_payer = q.commission_payer
        row.total_jpy = q.total_jpy
        row.clinic_price_jpy = q.total_jpy - (commission if q.commission_payer == "patient" else 0)
        row.refund_schedule = q.refund_schedule
        row.evidence = d.get("evidence", [])
        row.risks = d.get("risks", [])
    elif share.remote_quote and answered:
        r = share.remote_quote
        row.quote = r
        row.plan_number = r["plan_number"]
        row.plan_title = r["plan_title"]
        row.risk_class = r["risk_class"]
        row.plan_status = r["plan_status"]
        row.plan_in_force = r["plan_in_force"]
        row.facilities = r["facilities"]
        row.route = r["route"]
        row.infusions = r["infusions"]
        row.cells_per_infusion = r["cells_per_infusion"]
        row.earliest_start = share.earliest_start
        row.commission_jpy = r["commission_jpy"]
        row.commission_payer = r["commission_payer"]
        row.total_jpy = r["total_jpy"]
        row.clinic_price_jpy = r["clinic_price_jpy"]
        row.refund_schedule = r["refund_schedule"]
        row.evidence = r["evidence"]
        row.risks = r["risks"]
    return row


def comparison(*, referral: Referral, order: str | None = None) -> list[QuoteRow]:
    """Every clinic's answer side by side, with the plan's status read live from the clinic's
    plan registry (a plan no longer in force shows so)."""
    today = timezone.localdate()
    shares = referral.shares.select_related(
        "clinic", "quote__plan", "package", "consent", "agreement"
    ).prefetch_related("quote__lines")
    rows = [quote_row(share, day=today) for share in shares]
    return sorted(rows, key=_order_key(order or referral.order))


# Messages to a clinic on another installation, as the facilitator's coordinator reads them.
PEER_MESSAGE_LABELS: dict[str, Any] = {
    "referral": pgettext_lazy("peer message", "Referral"),
    "revocation": pgettext_lazy("peer message", "End of sharing"),
    "acceptance": pgettext_lazy("peer message", "The family's acceptance"),
}


def peer_deliveries(*, referral: Referral) -> dict[str, list[dict[str, Any]]]:
    """Per share sent to a clinic's own installation: each message and whether it arrived
    (decision 0030). One query."""
    shares = [str(s.external_id) for s in referral.shares.all() if s.peer_id is not None]
    if not shares:
        return {}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for m in PeerMessage.objects.filter(
        organisation_id=referral.organisation_id,
        direction=PeerMessage.Direction.OUT,
        body__envelope__payload__share__in=shares,
    ).order_by("created_at"):
        out[m.body["envelope"]["payload"]["share"]].append(
            {
                "label": PEER_MESSAGE_LABELS.get(m.type, m.type),
                "status": m.get_status_display(),
                "ok": m.status == PeerMessage.Status.DELIVERED,
                "at": m.created_at,
            }
        )
    return dict(out)


# --- the facilitator's pipeline ---------------------------------------------------------------


def pipeline(*, actor: User) -> dict[str, list[Referral]]:
    """The facilitator's families by stage."""
    stages: dict[str, list[Referral]] = defaultdict(list)
    for r in referral_list(actor=actor):
        shares = list(r.shares.all())
        if r.status != Referral.Status.OPEN:
            stage = r.status
        elif not shares:
            stage = "choosing"
        elif any(s.status == Share.Status.QUOTED for s in shares):
            stage = "comparing"
        else:
            stage = "waiting"
        stages[stage].append(r)
    return dict(stages)


PIPELINE_STAGES = ("choosing", "waiting", "comparing", "accepted", "closed")


def response_times(*, actor: User) -> list[dict[str, Any]]:
    """Per clinic: referrals shared, answered, and the mean and longest time to answer (hours)."""
    _facilitator(actor)
    out: dict[str, dict[str, Any]] = {}
    for s in Share.objects.filter(organisation_id=actor.organisation_id).select_related("clinic"):
        row = out.setdefault(
            s.clinic.name, {"clinic": s.clinic.name, "shared": 0, "answered": 0, "hours": []}
        )
        row["shared"] += 1
        answered_at = s.quoted_at or s.declined_at
        if answered_at:
            row["answered"] += 1
            row["hours"].append((answered_at - s.shared_at).total_seconds() / 3600)
    result = []
    for row in sorted(out.values(), key=lambda r: r["clinic"]):
        hours = row.pop("hours")
        row["mean_hours"] = round(sum(hours) / len(hours), 1) if hours else None
        row["max_hours"] = round(max(hours), 1) if hours else None
        result.append(row)
    return result


def commissions(*, actor: User, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """The commission of every quote the family accepted in the period (dates in Japan)."""
    _facilitator(actor)
    rows = []
    shares = (
        Share.objects.filter(
            organisation_id=actor.organisation_id,
            status=Share.Status.ACCEPTED,
            quote__accepted_at__date__gte=start,
            quote__accepted_at__date__lte=end,
        )
        .select_related("clinic", "referral", "quote")
        .prefetch_related("quote__lines")
        .order_by("quote__accepted_at")
    )
    for s in shares:
        q = s.quote
        assert q is not None
        commission = sum(ln.amount_jpy for ln in q.lines.all() if ln.kind == "commission")
        rows.append(
            {
                "accepted_on": timezone.localtime(q.accepted_at).date().isoformat(),
                "referral": s.referral.reference,
                "clinic": s.clinic.name,
                "quote": f"{q.number} v{q.version}",
                "total_jpy": q.total_jpy,
                "commission_jpy": commission,
                "commission_payer": q.commission_payer,
            }
        )
    # Quotes from clinics on another installation (decision 0030), accepted here.
    remote = Share.objects.filter(
        organisation_id=actor.organisation_id,
        status=Share.Status.ACCEPTED,
        quote__isnull=True,
        remote_quote__isnull=False,
    ).select_related("clinic", "referral")
    for s in remote:
        r = s.remote_quote or {}
        try:
            accepted = timezone.localtime(dt.datetime.fromisoformat(r["accepted_at"])).date()
        except (KeyError, TypeError, ValueError):
            continue
        if start <= accepted <= end:
            rows.append(
                {
                    "accepted_on": accepted.isoformat(),
                    "referral": s.referral.reference,
                    "clinic": s.clinic.name,
                    "quote": f"{r.get('number', '')} v{r.get('version', '')}",
                    "total_jpy": r.get("total_jpy", 0),
                    "commission_jpy": r.get("commission_jpy", 0),
                    "commission_payer": r.get("commission_payer", ""),
                }
            )
    rows.sort(key=lambda row: row["accepted_on"])
    return rows


# --- the family's view ------------------------------------------------------------------------


def family_shares(*, patient: Any) -> list[Share]:
    """What was shared with whom, for the family's portal (APPI Art. 28; issue 16 item 5)."""
    return list(
        Share.objects.filter(referral__patient=patient, referral__voided_at__isnull=True)
        .select_related("clinic", "consent", "referral")
        .prefetch_related("files")
        .order_by("shared_at")
    )


def family_referral(*, patient: Any) -> Referral | None:
    return (
        Referral.objects.filter(patient=patient, voided_at__isnull=True)
        .select_related("inquiry")
        .order_by("-created_at")
        .first()
    )
