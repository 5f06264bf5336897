"""A facilitator's partner agreements with clinics, and referrals shared under per-clinic consent.

Every row belongs to the facilitator (``organisation``); a clinic reaches a referral only through
a live share (``selectors.shares_for_clinic``), never through these tables directly.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord, ExternalIdModel


class PartnerAgreement(ClinicalRecord):
    """The written agreement between a facilitator and one partner clinic, recorded in Saisei:
    the commission (a percentage of the clinic's subtotal or a fixed amount), which inquiry
    fields and whether the uploaded documents may be shared, and for how long."""

    class CommissionKind(models.TextChoices):
        PERCENT = "percent", _("Percentage of the clinic's subtotal")
        FIXED = "fixed", _("Fixed amount")

    clinic = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="partner_agreements"
    )
    reference = models.CharField(_("agreement reference"), max_length=60)
    commission_kind = models.CharField(
        _("commission"), max_length=10, choices=CommissionKind.choices
    )
    commission_percent = models.DecimalField(
        _("commission (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    commission_fixed_jpy = models.PositiveIntegerField(_("commission (JPY)"), null=True, blank=True)
    commission_payer = models.CharField(_("who pays the commission"), max_length=10)
    shareable_fields = models.JSONField(_("fields that may be shared"), default=list)
    documents_shareable = models.BooleanField(_("uploaded documents may be shared"), default=False)
    # What the recipient clinic does to protect the data (APPI Art. 28(2): told to the family).
    recipient_measures = models.TextField(_("the clinic's measures to protect personal data"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["clinic__name", "-valid_from"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")),
                name="agreement_valid_range",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        commission_kind="percent",
                        commission_percent__isnull=False,
                        commission_percent__gte=0,
                        commission_percent__lt=100,
                        commission_fixed_jpy__isnull=True,
                    )
                    | Q(
                        commission_kind="fixed",
                        commission_fixed_jpy__isnull=False,
                        commission_percent__isnull=True,
                    )
                ),
                name="agreement_one_commission",
            ),
            models.CheckConstraint(
                condition=Q(commission_payer__in=["clinic", "patient"]),
                name="agreement_commission_payer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.clinic})"

    def live_on(self, day: dt.date) -> bool:
        return (
            self.ended_at is None
            and self.voided_at is None
            and self.valid_from <= day <= self.valid_until
        )


class Referral(ClinicalRecord):
    """One family's inquiry to a facilitator, offered to the clinics the family chooses."""

    class Status(models.TextChoices):
        OPEN = "open", _("Asking clinics")
        ACCEPTED = "accepted", _("Quote accepted")
        CLOSED = "closed", _("Closed")

    class Order(models.TextChoices):
        START = "start", _("Earliest start")
        COST = "cost", _("Cost")

    reference = models.CharField(_("referral reference"), max_length=16, unique=True)
    inquiry = models.ForeignKey(
        "journey.Inquiry", on_delete=models.PROTECT, related_name="referrals"
    )
    # The facilitator's own patient record: opens the family portal.
    patient = models.ForeignKey(
        "journey.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    family_country = models.CharField(_("family's country"), max_length=2)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")
    order = models.CharField(max_length=10, choices=Order.choices, default=Order.START)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return self.reference


class ReferralConsent(ClinicalRecord):
    """The family's consent to share named fields and documents with one clinic, with the
    information given for a transfer abroad (APPI Art. 28(1)–(2); Enforcement Rules Art. 17(2))."""

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="consents")
    clinic = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey(PartnerAgreement, on_delete=models.PROTECT, related_name="+")
    fields = models.JSONField(default=list)
    file_ids = models.JSONField(default=list)
    cross_border = models.BooleanField(default=False)
    recipient_country = models.CharField(max_length=2)
    # The information as given to the person, in their language, kept verbatim.
    recipient_country_system = models.TextField(blank=True)
    recipient_measures = models.TextField(blank=True)
    legal_basis = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=10)
    given_by_name = models.CharField(max_length=200)
    given_at = models.DateTimeField()
    via = models.CharField(max_length=10)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdraw_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["referral", "-given_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(cross_border=False)
                | (~Q(recipient_country_system="") & ~Q(recipient_measures="")),
                name="referralconsent_transfer_information_given",
            )
        ]

    def __str__(self) -> str:
        return f"{self.referral} → {self.clinic}"


class Share(ClinicalRecord):
    """What was shared with one clinic, by whom and when; revocable. The clinic answers with a
    quote or declines with a reason."""

    class Status(models.TextChoices):
        SHARED = "shared", _("Waiting for the clinic")
        DECLINED = "declined", _("Declined by the clinic")
        QUOTED = "quoted", _("Quote received")
        ACCEPTED = "accepted", _("Accepted by the family")
        CLOSED = "closed", _("Closed")
        REVOKED = "revoked", _("Sharing ended")

    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="shares")
    clinic = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey(PartnerAgreement, on_delete=models.PROTECT, related_name="+")
    consent = models.ForeignKey(ReferralConsent, on_delete=models.PROTECT, related_name="shares")
    fields = models.JSONField(default=list)
    files = models.ManyToManyField("journey.InquiryFile", blank=True, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SHARED)
    # Null for a share received from a peer installation (the sender's staff are not users here).
    shared_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shared_at = models.DateTimeField()
    first_seen_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    quote = models.ForeignKey(
        "journey.Quote", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    package = models.ForeignKey(
        "journey.TreatmentPackage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    quoted_at = models.DateTimeField(null=True, blank=True)
    earliest_start = models.DateField(null=True, blank=True)
    closed_reason = models.TextField(blank=True)
    # Across installations (decision 0030): the peer at the other end, the share's id there, and
    # (at the facilitator) the quote the remote clinic sent, as its signed message carried it.
    peer = models.ForeignKey(
        "network.Peer", null=True, blank=True, on_delete=models.PROTECT, related_name="shares"
    )
    remote_id = models.UUIDField(null=True, blank=True)
    remote_quote = models.JSONField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["referral", "shared_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoke_reason=""),
                name="share_revoke_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""),
                name="share_decline_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="quoted")
                | Q(quote__isnull=False)
                | Q(remote_quote__isnull=False),
                name="share_quoted_has_quote",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.referral} → {self.clinic}"


class Peer(ExternalIdModel):
    """Another Saisei installation this organisation trusts (decision record 0030): its id, the
    URL of its inbox for us, its Ed25519 public key, and the organisation that stands for it
    here (the remote clinic at a facilitator; the remote facilitator at a clinic)."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="peers"
    )
    peer_id = models.CharField(_("installation id"), max_length=80)
    inbox_url = models.URLField(_("inbox URL"), max_length=300)
    public_key = models.CharField(_("public key"), max_length=60)
    stands_for = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="represented_by_peers"
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["organisation", "stands_for__name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "peer_id"], name="peer_unique_per_organisation"
            ),
            models.UniqueConstraint(
                fields=["organisation", "stands_for"],
                condition=Q(active=True),
                name="peer_one_active_per_party",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stands_for} ({self.peer_id})"


class PeerMessage(ExternalIdModel):
    """One signed message, sent or received. A received message's id is kept until it expires
    and beyond, so a replay is refused; a sent one is retried by the worker until delivered or
    refused."""

    class Direction(models.TextChoices):
        IN = "in", _("Received from a peer installation")
        OUT = "out", _("Sent to a peer installation")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        DELIVERED = "delivered", _("Delivered")
        ACCEPTED = "accepted", _("Accepted")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Gave up")

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    peer = models.ForeignKey(
        Peer, null=True, blank=True, on_delete=models.PROTECT, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_id = models.UUIDField()
    type = models.CharField(max_length=20)
    body = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["direction", "message_id"], name="peermessage_id_once_per_direction"
            )
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.type} {self.message_id}"
