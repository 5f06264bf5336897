"""Which resource types the FHIR API serves, where each one's rows come from, and who may read.

Every queryset comes from the owning app's selector, so organisation scoping and voiding rules
are the same as under /api/v1/. ``related`` names the relations a mapper reads, loaded with
``select_related`` so a page costs the same number of queries whatever its size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from saisei.core import selectors as core_selectors
from saisei.core.models import User
from saisei.core.permissions import is_staff_user
from saisei.interop.fhir.mappers import administrative, consent
from saisei.journey import permissions as journey_permissions
from saisei.journey import selectors as journey_selectors
from saisei.regulatory import permissions as regulatory_permissions
from saisei.regulatory import selectors as regulatory_selectors


@dataclass(frozen=True)
class ResourceType:
    name: str
    queryset: Callable[[User], QuerySet]
    mapper: Callable[[Any], dict[str, Any]]
    may_read: Callable[[User], bool]
    # The field that links a row to its journey.Patient (for the ``patient`` search parameter).
    patient_field: str | None = None
    related: tuple[str, ...] = field(default_factory=tuple)

    def rows(self, actor: User) -> QuerySet:
        qs = self.queryset(actor)
        if self.related:
            qs = qs.select_related(*self.related)
        return qs


RESOURCE_TYPES: dict[str, ResourceType] = {
    rt.name: rt
    for rt in (
        ResourceType(
            name="Patient",
            queryset=lambda actor: journey_selectors.patient_list(actor=actor),
            mapper=administrative.patient,
            may_read=journey_permissions.can_view_journey,
            related=("organisation",),
        ),
        ResourceType(
            name="Practitioner",
            queryset=lambda actor: regulatory_selectors.physician_list(actor=actor),
            mapper=administrative.practitioner,
            may_read=regulatory_permissions.can_view_regulatory,
            related=("user",),
        ),
        ResourceType(
            name="Organization",
            queryset=lambda actor: core_selectors.organisation_list(actor=actor),
            mapper=administrative.organization,
            may_read=is_staff_user,
        ),
        ResourceType(
            name="Location",
            queryset=lambda actor: core_selectors.site_list(actor=actor),
            mapper=administrative.location,
            may_read=is_staff_user,
            related=("organisation",),
        ),
        ResourceType(
            name="Consent",
            queryset=lambda actor: journey_selectors.consent_list(actor=actor),
            mapper=consent.consent,
            may_read=journey_permissions.can_view_journey,
            patient_field="patient",
            related=("organisation", "patient", "document"),
        ),
    )
}
