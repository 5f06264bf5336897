"""Organisations, sites, staff users and roles, API tokens, and the audit ledger.

Base classes here give every regulated table the same shape: an integer key inside, a UUID
``external_id`` outside, an owning organisation, and no hard delete.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class HardDeleteRefused(Exception):
    """Raised when code tries to hard-delete a clinical or GMP record (DESIGN invariant 5)."""


class NoDeleteQuerySet(models.QuerySet):
    def delete(self) -> Any:
        raise HardDeleteRefused(
            f"{self.model.__name__} records are never deleted; void them with a reason."
        )


class NoDeleteManager(models.Manager.from_queryset(NoDeleteQuerySet)):  # type: ignore[misc]
    pass


class ExternalIdModel(models.Model):
    """Integer primary key inside, UUID in every URL and payload (house style, from care)."""

    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ClinicalRecord(ExternalIdModel):
    """A clinical or GMP record: owned by an organisation, voided with a reason, never deleted."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    void_reason = models.TextField(blank=True)

    objects = NoDeleteManager()

    class Meta:
        abstract = True

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise HardDeleteRefused(
            f"{type(self).__name__} records are never deleted; void them with a reason."
        )

    @property
    def is_voided(self) -> bool:
        return self.voided_at is not None


class Organisation(ExternalIdModel):
    class Kind(models.TextChoices):
        CLINIC_GROUP = "clinic_group", _("Clinic group")
        FACILITATOR = "facilitator", _("Facilitator")
        CPC_COMPANY = "cpc_company", _("Cell processing company")

    name = models.CharField(_("name"), max_length=200)
    name_ja = models.CharField(_("name in Japanese"), max_length=200, blank=True)
    slug = models.SlugField(unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # ISO 3166-1 alpha-2 country where the organisation processes data: a referral to a clinic in
    # another country than the family's is a transfer abroad (APPI Art. 28; network app).
    country = models.CharField(_("country"), max_length=2, default="JP")
    # Partner organisations (e.g. a facilitator working for a clinic group) may see
    # what is explicitly shared with them; they never share a data scope.
    partners = models.ManyToManyField("self", blank=True, symmetrical=True)

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class Site(ExternalIdModel):
    class Kind(models.TextChoices):
        MEDICAL_INSTITUTION = "medical_institution", _("Medical institution")
        CELL_PROCESSING_FACILITY = "cell_processing_facility", _("Cell processing facility")
        OFFICE = "office", _("Office")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(_("name"), max_length=200)
    name_ja = models.CharField(_("name in Japanese"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    address = models.TextField(_("address"), blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Tokyo")

    class Meta:
        ordering: ClassVar = ["organisation__name", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="site_unique_name_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordinator")
    PHYSICIAN = "physician", _("Physician")
    NURSE = "nurse", _("Nurse")
    CPC_TECHNICIAN = "cpc_technician", _("CPC technician")
    QA_MANAGER = "qa_manager", _("QA manager")
    COMPLIANCE_OFFICER = "compliance_officer", _("Compliance officer")
    COMMITTEE_REVIEWER = "committee_reviewer", _("Committee reviewer")
    ORG_ADMIN = "org_admin", _("Organisation administrator")


# Roles whose accounts must use two-factor authentication (issue 2: QA releases lots,
# org_admin manages accounts; both are high-impact if an account is taken over).
ROLES_REQUIRING_2FA = frozenset({Role.QA_MANAGER, Role.ORG_ADMIN})


class User(AbstractUser):
    """A staff user; belongs to one organisation and holds one or more roles."""

    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    preferred_language = models.CharField(_("language"), max_length=10, default="en")
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(null=True, blank=True)
    # The RFC 6238 time step of the last code accepted; a code is good once (RFC 6238 §5.2).
    totp_last_step = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["username"]

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def roles(self) -> frozenset[str]:
        cached = getattr(self, "_roles_cache", None)
        if cached is None:
            if (
                hasattr(self, "_prefetched_objects_cache")
                and "role_grants" in self._prefetched_objects_cache
            ):
                cached = frozenset(g.role for g in self.role_grants.all())
            else:
                cached = frozenset(self.role_grants.values_list("role", flat=True))
            self._roles_cache = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def two_factor_enabled(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)

    @property
    def two_factor_required(self) -> bool:
        return bool(self.roles & ROLES_REQUIRING_2FA)


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(max_length=30, choices=Role.choices)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "role"], name="rolegrant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.role}"


class ApiToken(ExternalIdModel):
    """A bearer token for integrations; only its SHA-256 hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.label or self.user.username})"


class LoginFailure(models.Model):
    """A failed login, counted to throttle guessing by username and by address."""

    username = models.CharField(max_length=150, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} @ {self.at:%Y-%m-%d %H:%M}"


class AuditChainHead(models.Model):
    """The tip of one organisation's ledger chain; locked while appending so entries never fork."""

    organisation = models.OneToOneField(Organisation, on_delete=models.PROTECT, related_name="+")
    last_seq = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"{self.organisation_id}: #{self.last_seq}"


class AuditEntry(models.Model):
    """One append-only ledger entry; ``entry_hash`` covers its content and the previous hash.

    The ledger answers the ASRM record-keeping duties (Ordinance arts. on records of provision
    and of manufacturing) and GMP data-integrity expectations (ALCOA+): who did what, when, why.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField()
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=80, db_index=True)
    subject_type = models.CharField(max_length=80, db_index=True)
    subject_id = models.CharField(max_length=64, db_index=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    changes = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    entry_hash = models.CharField(max_length=64)
    # How entry_hash was made: "sha256" (entries from before keying) or "hmac-sha256:<key id>".
    scheme = models.CharField(max_length=40, default="sha256")

    objects = NoDeleteManager()

    class Meta:
        ordering: ClassVar = ["organisation_id", "seq"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "seq"], name="audit_unique_seq"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise HardDeleteRefused("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise HardDeleteRefused("Audit entries are append-only.")


class Notification(ExternalIdModel):
    """An in-app message to one user (reminders, alerts); e-mail copies are sent by tasks."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    level = models.CharField(max_length=10, default="info")
    read_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=200, blank=True, db_index=True)

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class DailyRun(models.Model):
    """The claim on one day's daily jobs: the unique day lets exactly one worker run them."""

    day = models.DateField(unique=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"{self.day} ({self.claimed_by})"


class AccessLogEntry(models.Model):
    """One read of a patient's record, document or export: who, when, what, from where.

    Japan's Guidelines for the Security Management of Medical Information Systems (MHLW, 6th ed.)
    ask that access to medical information be recorded and reviewable. Append-only; kept as long
    as the records (there is no purge); scoped to the reader's organisation.
    """

    class Channel(models.TextChoices):
        WEB = "web", _("Web page")
        API = "api", _("API")
        FHIR = "fhir", _("FHIR")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=150)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # What was read, e.g. "journey.patient" / "document.quote_pdf" / "fhir.Patient/$everything".
    subject_type = models.CharField(max_length=80)
    subject_id = models.CharField(max_length=64)
    label = models.CharField(max_length=200, blank=True)
    # The patient whose record it is (external id and code), when there is one.
    patient_id = models.CharField(max_length=64, blank=True)
    patient_label = models.CharField(max_length=100, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)
    request_id = models.CharField(max_length=64, blank=True)

    objects = NoDeleteManager()

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["organisation", "at"], name="accesslog_org_at"),
            models.Index(fields=["organisation", "patient_id", "at"], name="accesslog_org_patient"),
            models.Index(fields=["organisation", "actor", "at"], name="accesslog_org_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise HardDeleteRefused("Access log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise HardDeleteRefused("Access log entries are append-only.")


class HandoverArchive(ExternalIdModel):
    """A handover archive of one organisation's records (``core.archive``), written by the worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("archive status", "Queued")
        RUNNING = "running", pgettext_lazy("archive status", "Running")
        COMPLETED = "completed", pgettext_lazy("archive status", "Completed")
        FAILED = "failed", pgettext_lazy("archive status", "Failed")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    file_name = models.CharField(max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    files = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"archive {self.external_id} ({self.status})"
