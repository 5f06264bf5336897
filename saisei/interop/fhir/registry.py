"""Which resource types the FHIR API serves, where each one's rows come from, and who may read.

Every queryset comes from the owning app's selector, so organisation scoping and voiding rules
are the same as under /api/v1/. ``related`` names the relations a mapper reads, loaded with
``select_related`` so a page costs the same number of queries whatever its size. A type may have
several sources (Procedure: harvests and infusions); a caller sees the sources their roles read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from saisei.core import selectors as core_selectors
from saisei.core.models import User
from saisei.core.permissions import is_staff_user
from saisei.interop.fhir.mappers import (
    administrative,
    careplan,
    clinical,
    consent,
    outcomes,
    plan,
)
from saisei.journey import permissions as journey_permissions
from saisei.journey import selectors as journey_selectors
from saisei.outcomes import permissions as outcomes_permissions
from saisei.outcomes import selectors as outcomes_selectors
from saisei.processing import permissions as processing_permissions
from saisei.processing import selectors as processing_selectors
from saisei.regulatory import permissions as regulatory_permissions
from saisei.regulatory import selectors as regulatory_selectors
from saisei.safety import permissions as safety_permissions
from saisei.safety import selectors as safety_selectors
from saisei.treatment import permissions as treatment_permissions
from saisei.treatment import selectors as treatment_selectors


@dataclass(frozen=True)
class Source:
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
        return qs.order_by("pk")


@dataclass(frozen=True)
class ResourceType:
    name: str
    sources: tuple[Source, ...]

    @property
    def has_patient(self) -> bool:
        return all(s.patient_field is not None for s in self.sources)

    def readable_sources(self, actor: User) -> list[Source]:
        return [s for s in self.sources if s.may_read(actor)]


RESOURCE_TYPES: dict[str, ResourceType] = {
    rt.name: rt
    for rt in (
        ResourceType(
            "Patient",
            (
                Source(
                    queryset=lambda actor: journey_selectors.patient_list(actor=actor),
                    mapper=administrative.patient,
                    may_read=journey_permissions.can_view_journey,
                    related=("organisation",),
                ),
            ),
        ),
        ResourceType(
            "Practitioner",
            (
                Source(
                    queryset=lambda actor: regulatory_selectors.physician_list(actor=actor),
                    mapper=administrative.practitioner,
                    may_read=regulatory_permissions.can_view_regulatory,
                    related=("user",),
                ),
            ),
        ),
        ResourceType(
            "PractitionerRole",
            (
                Source(
                    queryset=lambda actor: regulatory_selectors.physician_list(actor=actor),
                    mapper=outcomes.practitioner_role,
                    may_read=regulatory_permissions.can_view_regulatory,
                    related=("user", "organisation"),
                ),
            ),
        ),
        ResourceType(
            "Organization",
            (
                Source(
                    queryset=lambda actor: core_selectors.organisation_list(actor=actor),
                    mapper=administrative.organization,
                    may_read=is_staff_user,
                ),
            ),
        ),
        ResourceType(
            "Location",
            (
                Source(
                    queryset=lambda actor: core_selectors.site_list(actor=actor),
                    mapper=administrative.location,
                    may_read=is_staff_user,
                    related=("organisation",),
                ),
            ),
        ),
        ResourceType(
            "Consent",
            (
                Source(
                    queryset=lambda actor: journey_selectors.consent_list(actor=actor),
                    mapper=consent.consent,
                    may_read=journey_permissions.can_view_journey,
                    patient_field="patient",
                    related=("organisation", "patient", "document"),
                ),
            ),
        ),
        ResourceType(
            "CarePlan",
            (
                Source(
                    queryset=lambda actor: journey_selectors.course_list(actor=actor),
                    mapper=careplan.care_plan,
                    may_read=journey_permissions.can_view_journey,
                    patient_field="patient",
                    related=("patient", "plan", "physician"),
                ),
            ),
        ),
        ResourceType(
            "PlanDefinition",
            (
                Source(
                    queryset=lambda actor: regulatory_selectors.plan_list(actor=actor),
                    mapper=plan.plan_definition,
                    may_read=regulatory_permissions.can_view_regulatory,
                    related=("institution",),
                ),
            ),
        ),
        ResourceType(
            "Procedure",
            (
                Source(
                    queryset=lambda actor: processing_selectors.donation_list(actor=actor),
                    mapper=clinical.harvest_procedure,
                    may_read=processing_permissions.can_view_processing,
                    patient_field="patient",
                    related=("patient", "physician", "site"),
                ),
                Source(
                    queryset=lambda actor: treatment_selectors.administration_list(actor=actor),
                    mapper=clinical.infusion_procedure,
                    may_read=treatment_permissions.can_view_treatment,
                    patient_field="patient",
                    related=("patient", "dose", "physician__physician"),
                ),
            ),
        ),
        ResourceType(
            "BiologicallyDerivedProduct",
            (
                Source(
                    queryset=lambda actor: processing_selectors.dose_list(actor=actor),
                    mapper=clinical.biologically_derived_product,
                    may_read=processing_permissions.can_view_processing,
                    patient_field="patient",
                    related=("patient", "lot__donation__physician"),
                ),
            ),
        ),
        ResourceType(
            "AdverseEvent",
            (
                Source(
                    queryset=lambda actor: safety_selectors.adverse_event_list(actor=actor),
                    mapper=clinical.adverse_event,
                    may_read=safety_permissions.can_view_safety,
                    patient_field="patient",
                    related=("patient", "administration", "dose"),
                ),
            ),
        ),
        ResourceType(
            "Observation",
            (
                Source(
                    queryset=lambda actor: outcomes_selectors.assessment_list(actor=actor),
                    mapper=outcomes.assessment_observation,
                    may_read=outcomes_permissions.can_view_outcomes,
                    patient_field="patient",
                    related=("patient", "rater__physician"),
                ),
                Source(
                    queryset=lambda actor: outcomes_selectors.biomarker_result_list(actor=actor),
                    mapper=outcomes.biomarker_observation,
                    may_read=outcomes_permissions.can_view_outcomes,
                    patient_field="patient",
                    related=("patient", "definition"),
                ),
            ),
        ),
        ResourceType(
            "QuestionnaireResponse",
            (
                Source(
                    queryset=lambda actor: outcomes_selectors.assessment_list(
                        actor=actor, instrument=outcomes.DIARY
                    ),
                    mapper=outcomes.diary_response,
                    may_read=outcomes_permissions.can_view_outcomes,
                    patient_field="patient",
                    related=("patient", "rater__physician"),
                ),
            ),
        ),
    )
}
