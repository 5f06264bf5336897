"""Bulk Data exports (HL7 FHIR Bulk Data Access IG v2): one row per requested export."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from saisei.core.models import ExternalIdModel


class BulkExport(ExternalIdModel):
    """An export kicked off by ``$export``; the worker writes one NDJSON file per type."""

    class Level(models.TextChoices):
        SYSTEM = "system", _("Everything")
        PATIENT = "patient", _("All patients")
        GROUP = "group", _("Patients of one provision plan")

    class Status(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("export status", "Queued")
        RUNNING = "running", pgettext_lazy("export status", "Running")
        COMPLETED = "completed", pgettext_lazy("export status", "Completed")
        FAILED = "failed", pgettext_lazy("export status", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("export status", "Cancelled")

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("scope"), max_length=10, choices=Level.choices)
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    types = models.JSONField(default=list)
    since = models.DateTimeField(_("changed since"), null=True, blank=True)
    request_url = models.TextField()
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    transaction_time = models.DateTimeField(null=True, blank=True)
    expected = models.PositiveBigIntegerField(default=0)
    written = models.PositiveBigIntegerField(default=0)
    # [{"type": "Patient", "file": "Patient.ndjson", "count": 12}, ...]
    output = models.JSONField(default=list)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["organisation", "-created_at"])]

    def __str__(self) -> str:
        return f"export {self.external_id} ({self.status})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        if not self.expected:
            return 0
        return min(99, int(100 * self.written / self.expected))
