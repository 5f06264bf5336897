"""Which resource types the FHIR API serves, where each one's rows come from, and who may read.

Every queryset comes from the owning app's selector, so organisation scoping and voiding rules
are the same as under /api/v1/. ``related`` names the relations a mapper reads, loaded with
``select_related`` (``prefetch`` with ``prefetch_related``) so a page costs the same number of
queries whatever its size. A type may have several sources (Procedure: harvests and infusions);
a caller sees the sources their roles read. CodeSystem is not a table: its resources are built
by ``codesystems.code_systems`` (``ResourceType.static``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial, reduce
from operator import or_
from typing import Any

from django.apps import apps
from django.db.models import CharField, F, Func, Prefetch, Q, QuerySet

from saisei.core import selectors as core_selectors
from saisei.core.models import User
from saisei.core.permissions import can_view_audit, is_staff_user
from saisei.interop.fhir import codesystems
from saisei.interop.fhir.mappers import (
    administrative,
    careplan,
    clinical,
    consent,
    outcomes,
    plan,
    provenance,
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


def uuid_ids(ids: list[str]) -> Q:
    """Resource ids are the records' external UUIDs; ids that are not UUIDs match nothing."""
    keys = []
    for raw in ids:
        try:
            keys.append(uuid.UUID(raw))
        except ValueError:
            continue
    return Q(external_id__in=keys)


@dataclass(frozen=True)
class Source:
    queryset: Callable[[User], QuerySet]
    mapper: Callable[[Any], dict[str, Any]]
    may_read: Callable[[User], bool]
    # The field that links a row to its journey.Patient (for the ``patient`` search parameter).
    patient_field: str | None = None
    related: tuple[str, ...] = field(default_factory=tuple)
    prefetch: tuple[str | Prefetch, ...] = field(default_factory=tuple)
    # How resource ids select rows (default: the external UUID).
    id_filter: Callable[[list[str]], Q] = uuid_ids
    # The field ``_lastUpdated`` and ``_since`` compare with.
    updated_field: str = "updated_at"
    # Restricts rows to some patients: (queryset, lookup, value), lookup "external_id" (one
    # patient's UUID) or "in" (a queryset of patients). Default: ``patient_field``.
    patient_filter: Callable[[QuerySet, str, Any], QuerySet] | None = None
    # Provenance only: the resource type its entries are about (for the ``target`` parameter).
    target_type: str | None = None

    def rows(self, actor: User) -> QuerySet:
        qs = self.queryset(actor)
        if self.related:
            # Only the relations the mapper reads: a selector's own joins (for its pages) would
            # build model instances no resource uses, the main cost of a bulk export.
            qs = qs.select_related(None).select_related(*self.related)
        if self.prefetch:
            qs = qs.prefetch_related(*self.prefetch)
        return qs.order_by("pk")

    @property
    def has_patient(self) -> bool:
        return self.patient_field is not None or self.patient_filter is not None

    def for_patients(self, qs: QuerySet, lookup: str, value: Any) -> QuerySet:
        if self.patient_filter is not None:
            return self.patient_filter(qs, lookup, value)
        return qs.filter(**{f"{self.patient_field}__{lookup}": value})


@dataclass(frozen=True)
class ResourceType:
    name: str
    sources: tuple[Source, ...]
    # Resources that are not rows (CodeSystem): built per reader, never paged from a table.
    static: Callable[[User], list[dict[str, Any]]] | None = None

    @property
    def has_patient(self) -> bool:
        return bool(self.sources) and all(s.has_patient for s in self.sources)

    def readable_sources(self, actor: User) -> list[Source]:
        return [s for s in self.sources if s.may_read(actor)]

    def readable(self, actor: User) -> bool:
        if self.static is not None:
            return bool(self.static(actor)) if is_staff_user(actor) else False
        return bool(self.readable_sources(actor))


class UuidText(Func):
    """A UUID column as the text the ledger stores in ``subject_id`` (``str(uuid)``).

    PostgreSQL stores ``uuid``, whose text form is that string; SQLite stores the 32 hex digits
    (Django's char(32)), which are re-hyphenated here.
    """

    output_field = CharField()
    template = "CAST(%(expressions)s AS text)"

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = (
            "lower(substr(%(expressions)s, 1, 8) || '-' || substr(%(expressions)s, 9, 4) || '-' "
            "|| substr(%(expressions)s, 13, 4) || '-' || substr(%(expressions)s, 17, 4) || '-' "
            "|| substr(%(expressions)s, 21, 12))"
        )
        return self.as_sql(compiler, connection, template=template)


def _keys(qs: QuerySet) -> QuerySet:
    """The rows' external ids as ledger subject ids, for an ``IN (subquery)``."""
    return qs.order_by().annotate(_key=UuidText(F("external_id"))).values("_key")


def _provenance_ids(ids: list[str]) -> Q:
    """Provenance ids are '<organisation uuid>.<ledger sequence number>'."""
    parts = []
    for raw in ids:
        org, _sep, seq = raw.rpartition(".")
        try:
            parts.append(Q(organisation__external_id=uuid.UUID(org), seq=int(seq)))
        except ValueError:
            continue
    return reduce(or_, parts) if parts else Q(pk__in=[])


def _provenance_source(target_type: str, subject_type: str, target: Source) -> Source:
    """Provenance for the ledger entries about one source's rows (``subject_type`` is the model's
    label, as the ledger records it), readable by whoever may read both the audit ledger and that
    source, so an entry never reveals a record its reader could not read."""
    is_patient = subject_type == "journey.patient"
    patient_path = "" if is_patient else f"{target.patient_field}__"

    def queryset(actor: User) -> QuerySet:
        readable = target.queryset(actor).prefetch_related(None)
        return core_selectors.audit_entry_list(actor=actor).filter(
            subject_type=subject_type, subject_id__in=_keys(readable)
        )

    def patient_filter(qs: QuerySet, lookup: str, value: Any) -> QuerySet:
        lookup = "pk__in" if (is_patient and lookup == "in") else lookup
        rows = apps.get_model(subject_type)._default_manager.filter(
            **{f"{patient_path}{lookup}": value}
        )
        return qs.filter(subject_id__in=_keys(rows))

    return Source(
        queryset=queryset,
        mapper=partial(provenance.provenance, target_type=target_type),
        may_read=lambda actor: can_view_audit(actor) and target.may_read(actor),
        related=("organisation", "actor__physician"),
        id_filter=_provenance_ids,
        updated_field="at",
        patient_filter=patient_filter,
        target_type=target_type,
    )


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

# Provenance: ledger entries about each patient-linked source (type, source index, ledger label).
_PROVENANCE_TARGETS = (
    ("Patient", 0, "journey.patient"),
    ("Consent", 0, "journey.consent"),
    ("CarePlan", 0, "journey.treatmentcourse"),
    ("Procedure", 0, "processing.donation"),
    ("Procedure", 1, "treatment.administration"),
    ("BiologicallyDerivedProduct", 0, "processing.dose"),
    ("AdverseEvent", 0, "safety.adverseevent"),
    ("Observation", 0, "outcomes.assessment"),
    ("Observation", 1, "outcomes.biomarkerresult"),
)
RESOURCE_TYPES["Provenance"] = ResourceType(
    "Provenance",
    tuple(
        _provenance_source(name, subject_type, RESOURCE_TYPES[name].sources[index])
        for name, index, subject_type in _PROVENANCE_TARGETS
    ),
)


def _group_members() -> Prefetch:
    from saisei.journey.selectors import courses_of_live_patients

    return Prefetch("courses", queryset=courses_of_live_patients())


# A Group per provision plan: the patients with a course under it (as Group/{id}/$export).
RESOURCE_TYPES["Group"] = ResourceType(
    "Group",
    (
        Source(
            queryset=lambda actor: regulatory_selectors.plan_list(actor=actor),
            mapper=provenance.group,
            may_read=lambda actor: (
                regulatory_permissions.can_view_regulatory(actor)
                and journey_permissions.can_view_journey(actor)
            ),
            prefetch=(_group_members(),),
        ),
    ),
)
RESOURCE_TYPES["CodeSystem"] = ResourceType("CodeSystem", (), static=codesystems.code_systems)
