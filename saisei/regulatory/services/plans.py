"""Provision plans: create, edit a draft version, and move versions through the lifecycle table.

Every step goes through ``lifecycles.PLAN.check`` (one guard per transition, with its legal
source) and is logged as a ``PlanTransition`` with the date it took effect, plus a ledger entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from saisei.core.models import User
from saisei.core.permissions import org_id_of
from saisei.core.workflow import Transition
from saisei.regulatory import config, permissions
from saisei.regulatory.lifecycles import PLAN
from saisei.regulatory.models import (
    CertifiedCommittee,
    MedicalInstitution,
    Obligation,
    Physician,
    PlanState,
    PlanTransition,
    PlanVersion,
    ProcessingFacility,
    ProvisionPlan,
    today_tokyo,
)
from saisei.regulatory.rules import (
    PlanFacts,
    classify,
    step_date_refusal,
)
from saisei.regulatory.services import obligations as obligation_services

# Version fields a draft may set; the M2M lists and the committee are passed separately.
EDITABLE_FIELDS = frozenset(
    {
        "treatment_name",
        "target_disease",
        "eligibility_summary",
        "cell_origin",
        "cell_type",
        "tissue",
        "cell_characteristics",
        "gene_introduced",
        "gene_edited",
        "cultured",
        "homologous_use",
        "routes",
        "dose_min_cells",
        "dose_max_cells",
        "max_administrations",
        "consent_document_versions",
        "declared_risk_class",
        "documents_complete",
        "change_summary",
        "reception_number",
        "administrator_name",
        "contact_person",
        "contact_phone",
        "contact_email",
        # 様式第1の2 items added in issue 16; each is a non-minor change (rules.changes).
        "responsible_physician",
        "patient_price_yen",
        "research_registration_number",
        "cell_name",
        "cell_processing_summary",
    }
)
# Everything a change could name: the version's fields plus the lists and the committee.
CHANGEABLE_FIELDS = EDITABLE_FIELDS | {"physicians", "facilities", "committee", "committee_id"}
EDITABLE_STATES = frozenset({PlanState.DRAFT})
# Headline of a plan: the first state in this order held by any of its versions.
HEADLINE_ORDER = (
    PlanState.IN_FORCE,
    PlanState.SUSPENDED,
    PlanState.CHANGE_ORDERED,
    PlanState.ACCEPTED,
    PlanState.SUBMITTED,
    PlanState.OPINION_FAVOURABLE,
    PlanState.COMMITTEE_REVIEW,
    PlanState.CHANGES_REQUESTED,
    PlanState.OPINION_UNFAVOURABLE,
    PlanState.DRAFT,
    PlanState.DISCONTINUED,
    PlanState.SUPERSEDED,
    PlanState.CLOSED,
)


def _require_change(actor: User, obj: Any) -> None:
    if obj.organisation_id != actor.organisation_id:
        raise NotFound()
    if not permissions.can_change_plan(actor):
        raise Forbidden()


def _classify(version: PlanVersion) -> None:
    result = classify(
        cell_origin=version.cell_origin,
        cell_type=version.cell_type,
        gene_introduced=version.gene_introduced,
        gene_edited=version.gene_edited,
        cultured=version.cultured,
        homologous_use=version.homologous_use,
    )
    version.computed_risk_class = result.risk_class
    version.classification_reasons = [{"rule": r.rule, "source": r.source} for r in result.reasons]


def _normalise(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            "plan.unknown_fields",
            _("These fields cannot be set on a plan version: {fields}.").format(
                fields=", ".join(sorted(unknown))
            ),
            {name: [_("Unknown field.")] for name in unknown},
        )
    if "routes" in fields:
        routes = [str(r).strip().lower() for r in fields["routes"] or [] if str(r).strip()]
        fields["routes"] = sorted(set(routes))
    lo, hi = fields.get("dose_min_cells"), fields.get("dose_max_cells")
    price = fields.get("patient_price_yen")
    if price is not None and (not isinstance(price, int) or price < 0):
        raise ValidationFailed(
            "plan.price",
            _("Enter the price in whole yen."),
            {"patient_price_yen": [_("Enter the price in whole yen.")]},
        )
    if lo is not None and hi is not None and lo > hi:
        raise ValidationFailed(
            "plan.dose_range",
            _("The minimum dose is larger than the maximum dose."),
            {"dose_min_cells": [_("The minimum dose is larger than the maximum dose.")]},
        )
    return fields


def _same_org_physician(version: PlanVersion, org_id: int) -> None:
    """The responsible physician comes from the organisation's own registry (else 404)."""
    doctor = version.responsible_physician
    if doctor is not None and doctor.organisation_id != org_id:
        raise NotFound()


def _set_people(
    version: PlanVersion,
    *,
    physicians: Iterable[Physician] | None,
    facilities: Iterable[ProcessingFacility] | None,
) -> None:
    for rel, given in (("physicians", physicians), ("facilities", facilities)):
        if given is None:
            continue
        items = list(given)  # the iterable is consumed once
        if any(i.organisation_id != version.organisation_id for i in items):
            raise NotFound()
        getattr(version, rel).set(items)


def plan_create(
    *,
    actor: User,
    institution: MedicalInstitution,
    title: str,
    committee: CertifiedCommittee | None = None,
    physicians: Iterable[Physician] = (),
    facilities: Iterable[ProcessingFacility] = (),
    **fields: Any,
) -> ProvisionPlan:
    """Start a provision plan as a draft version 1; the class is computed from the cell facts.

    If no class is declared the computed one is used; a lower declared class is kept but
    cannot be submitted (ASRM Art. 4; Reg. Art. 2–3).
    """
    _require_change(actor, institution)
    if committee is not None and committee.organisation_id != actor.organisation_id:
        raise NotFound()
    fields = _normalise(dict(fields))
    fields.setdefault("treatment_name", title)
    version = PlanVersion(organisation_id=org_id_of(actor), number=1, committee=committee)
    for name, value in fields.items():
        setattr(version, name, value)
    _same_org_physician(version, org_id_of(actor))
    _classify(version)
    if not fields.get("declared_risk_class"):
        version.declared_risk_class = version.computed_risk_class  # type: ignore[assignment]  # _classify always sets it
    with transaction.atomic():
        plan = ProvisionPlan.objects.create(
            organisation_id=org_id_of(actor),
            institution=institution,
            title=title,
            risk_class=version.declared_risk_class,
        )
        version.plan = plan
        version.save()
        _set_people(version, physicians=physicians, facilities=facilities)
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="plan.create",
            subject=plan,
            changes={
                "title": title,
                "declared_risk_class": version.declared_risk_class,
                "computed_risk_class": version.computed_risk_class,
            },
        )
    return plan


def plan_version_update(
    *,
    actor: User,
    version: PlanVersion,
    committee: CertifiedCommittee | Any | None = ...,
    physicians: Iterable[Physician] | None = None,
    facilities: Iterable[ProcessingFacility] | None = None,
    **fields: Any,
) -> PlanVersion:
    """Edit a draft version; filed versions change only through a minor or non-minor change."""
    _require_change(actor, version)
    if version.state not in EDITABLE_STATES:
        raise Conflict(
            "plan.version_not_editable",
            _("Only a draft version can be edited; record a change instead."),
        )
    fields = _normalise(dict(fields))
    before = {name: getattr(version, name) for name in fields}
    for name, value in fields.items():
        setattr(version, name, value)
    if committee is not ...:
        if committee is not None and committee.organisation_id != actor.organisation_id:
            raise NotFound()
        version.committee = committee
    _same_org_physician(version, version.organisation_id)
    _classify(version)
    with transaction.atomic():
        version.save()
        _set_people(version, physicians=physicians, facilities=facilities)
        if version.number == 1 and version.plan.risk_class != version.declared_risk_class:
            version.plan.risk_class = version.declared_risk_class
            version.plan.save(update_fields=["risk_class", "updated_at"])
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="plan_version.update",
            subject=version,
            changes={"before": before, "after": fields},
        )
    return version


def _facts(
    version: PlanVersion,
    *,
    effective: dt.date,
    plan_number: str,
    suspension_lifted: bool,
    follow_up_finished: bool,
    changed_fields: frozenset[str] = frozenset(),
) -> PlanFacts:
    plan = version.plan
    successor = PlanVersion.objects.filter(
        plan=plan, number__gt=version.number, state=PlanState.IN_FORCE
    ).exists()
    open_count = Obligation.objects.open().filter(plan=plan).count()
    return PlanFacts(
        today=effective,
        risk_class=version.declared_risk_class,
        computed_risk_class=version.computed_risk_class,
        committee_kind=version.committee.kind if version.committee else None,
        documents_complete=version.documents_complete,
        submitted_date=version.submitted_date,
        plan_number=plan_number or plan.plan_number,
        suspension_lifted=suspension_lifted,
        successor_in_force=successor,
        follow_up_finished=follow_up_finished,
        open_obligations=open_count,
        deadline_config=config.deadline_config(),
        changed_fields=changed_fields,
    )


def _refresh_plan_status(plan: ProvisionPlan) -> None:
    states = set(PlanVersion.objects.filter(plan=plan).values_list("state", flat=True))
    headline = next((s for s in HEADLINE_ORDER if s in states), PlanState.DRAFT)
    if plan.status != headline:
        plan.status = headline
        plan.save(update_fields=["status", "updated_at"])


def _copy_as_draft(version: PlanVersion, *, summary: str) -> PlanVersion:
    new = PlanVersion(
        organisation_id=version.organisation_id,
        plan=version.plan,
        number=(
            max(PlanVersion.objects.filter(plan=version.plan).values_list("number", flat=True)) + 1
        ),
        committee=version.committee,
        change_summary=summary,
        computed_risk_class=version.computed_risk_class,
        classification_reasons=version.classification_reasons,
        documents_complete=False,
    )
    for name in PlanVersion.CONTENT_FIELDS:
        if name != "committee_id":
            setattr(new, name, getattr(version, name))
    new.save()
    new.physicians.set(version.physicians.all())
    new.facilities.set(version.facilities.all())
    return new


# Step dates each transition records on the version (the date the step took effect).
DATE_FIELD: dict[str, str] = {
    "submit_for_review": "review_requested_date",
    "revise_after_change_order": "review_requested_date",
    "record_favourable_opinion": "opinion_date",
    "record_changes_requested": "opinion_date",
    "record_unfavourable_opinion": "opinion_date",
    "submit_to_authority": "submitted_date",
    "record_acceptance": "accepted_date",
    "bring_into_force": "in_force_from",
    "suspend": "suspended_date",
    "discontinue": "discontinued_date",
    "withdraw": "closed_date",
    "close": "closed_date",
}


def plan_transition(
    *,
    actor: User | None,
    version: PlanVersion,
    name: str,
    effective_date: dt.date | None = None,
    reason: str = "",
    reference: str = "",
    plan_number: str = "",
    reception_number: str = "",
    suspension_lifted: bool = False,
    follow_up_end_date: dt.date | None = None,
    changes: dict[str, Any] | None = None,
) -> PlanVersion:
    """Move one plan version through the lifecycle table and carry out the step's effects.

    Returns the version the caller should look at next: the new draft for a non-minor change,
    otherwise the version itself. ``actor=None`` is a system step (no role check). The plan
    row is locked first, so two people recording steps at once are serialised and the second
    is judged against the state the first left.
    """
    if actor is not None:
        _require_change(actor, version)
    with transaction.atomic():
        list(ProvisionPlan.objects.select_for_update().filter(pk=version.plan_id).values("pk"))
        version.state = PlanVersion.objects.values_list("state", flat=True).get(pk=version.pk)
        version.plan.refresh_from_db()
        return _plan_transition(
            actor=actor,
            version=version,
            name=name,
            effective_date=effective_date,
            reason=reason,
            reference=reference,
            plan_number=plan_number,
            reception_number=reception_number,
            suspension_lifted=suspension_lifted,
            follow_up_end_date=follow_up_end_date,
            changes=changes,
        )


def _plan_transition(
    *,
    actor: User | None,
    version: PlanVersion,
    name: str,
    effective_date: dt.date | None,
    reason: str,
    reference: str,
    plan_number: str,
    reception_number: str,
    suspension_lifted: bool,
    follow_up_end_date: dt.date | None,
    changes: dict[str, Any] | None,
) -> PlanVersion:
    today = today_tokyo()
    effective = effective_date or today
    transition = _checked_transition(
        actor=actor,
        version=version,
        name=name,
        effective=effective,
        today=today,
        plan_number=plan_number,
        suspension_lifted=suspension_lifted,
        follow_up_end_date=follow_up_end_date,
        changes=changes,
    )
    plan = version.plan
    from_state = version.state
    try:
        with transaction.atomic():
            diff = _store_step(
                version,
                name=name,
                target=transition.target,
                effective=effective,
                plan_number=plan_number,
                reception_number=reception_number,
                follow_up_end_date=follow_up_end_date,
                changes=changes,
            )
            log = PlanTransition.objects.create(
                organisation_id=version.organisation_id,
                plan=plan,
                version=version,
                name=name,
                from_state=from_state,
                to_state=transition.target,
                effective_date=effective,
                actor=actor,
                reason=reason,
                reference=reference or plan_number or reception_number,
                changes=diff,
            )
            result = _step_effects(
                actor=actor,
                version=version,
                name=name,
                effective=effective,
                today=today,
                subject=("regulatory.plantransition", str(log.external_id)),
                reason=reason,
            )
            audit_record(
                actor=actor,
                organisation=plan.organisation,
                action=f"plan.{name}",
                subject=version,
                reason=reason,
                changes=_step_changes(version, from_state, transition.target, effective, diff),
            )
    except IntegrityError as exc:
        raise Conflict(
            "plan.number_taken", _("Another plan in your organisation has this plan number.")
        ) from exc
    if name == "record_acceptance":
        version.refresh_from_db()
    return result


def _checked_transition(
    *,
    actor: User | None,
    version: PlanVersion,
    name: str,
    effective: dt.date,
    today: dt.date,
    plan_number: str,
    suspension_lifted: bool,
    follow_up_end_date: dt.date | None,
    changes: dict[str, Any] | None,
) -> Transition:
    """The lifecycle table's verdict on the step, after the date and in-progress checks."""
    refusal = step_date_refusal(effective=effective, today=today, previous=_previous_step(version))
    if refusal is not None:
        raise refusal.error()
    plan = version.plan
    follow_up_finished = False
    if name == "close":
        end = follow_up_end_date or plan.follow_up_end_date
        follow_up_finished = end is not None and end <= effective
    changed: frozenset[str] = frozenset()
    if name == "record_minor_change":
        changed = _minor_change_fields(changes)
    facts = _facts(
        version,
        effective=effective,
        plan_number=plan_number.strip(),
        suspension_lifted=suspension_lifted,
        follow_up_finished=follow_up_finished,
        changed_fields=changed,
    )
    transition = PLAN.check(version, name, actor=actor, ctx={"facts": facts})
    if name == "start_major_change" and (
        PlanVersion.objects.filter(plan=plan, number__gt=version.number)
        .exclude(state__in=[PlanState.CLOSED, PlanState.SUPERSEDED])
        .exists()
    ):
        raise Conflict(
            "plan.change_in_progress",
            _("A changed version of this plan is already in progress."),
        )
    return transition


def _store_step(
    version: PlanVersion,
    *,
    name: str,
    target: str,
    effective: dt.date,
    plan_number: str,
    reception_number: str,
    follow_up_end_date: dt.date | None,
    changes: dict[str, Any] | None,
) -> dict[str, Any]:
    """Write the step onto the version and its plan; returns the minor change's diff."""
    plan = version.plan
    diff: dict[str, Any] = {}
    version.state = target
    if name in DATE_FIELD:
        setattr(version, DATE_FIELD[name], effective)
    if reception_number:
        version.reception_number = reception_number.strip()
    if name == "record_minor_change":
        diff = _apply_minor_change(version, changes or {})
    version.save()
    if name == "submit_to_authority" and plan.first_submitted_date is None:
        plan.first_submitted_date = effective
    if name == "record_acceptance":
        if plan_number.strip():
            plan.plan_number = plan_number.strip()
        if plan.first_accepted_date is None:
            plan.first_accepted_date = effective
    if name in {"discontinue"}:
        plan.discontinued_date = effective
    if follow_up_end_date is not None:
        plan.follow_up_end_date = follow_up_end_date
    if name == "close" or (name == "withdraw" and version.number == 1):
        plan.closed_date = effective
    plan.save()
    return diff


def _step_effects(
    *,
    actor: User | None,
    version: PlanVersion,
    name: str,
    effective: dt.date,
    today: dt.date,
    subject: tuple[str, str],
    reason: str,
) -> PlanVersion:
    """The effects each step's row in the lifecycle table names, then the plan's status and (for
    classes II and III) entry into force; returns the version the caller should look at next."""
    plan = version.plan
    result = version
    if name == "record_acceptance":
        obligation_services.periodic_obligations_refresh(actor=actor, plan=plan, today=today)
    elif name == "record_minor_change":
        obligation_services.minor_change_obligations(
            actor=actor, plan=plan, change_date=effective, subject=subject
        )
    elif name == "discontinue":
        obligation_services.discontinuation_obligations(
            actor=actor, plan=plan, discontinued_date=effective, subject=subject
        )
    elif name == "close":
        obligation_services.end_of_provision_obligation(
            actor=actor, plan=plan, closed_date=effective, subject=subject
        )
    elif name == "start_major_change":
        result = _copy_as_draft(version, summary=reason)
    if name == "bring_into_force":
        _supersede_previous(actor=actor, version=version, effective=effective)
    if name == "discontinue":
        version.in_force_until = version.in_force_until or effective
        version.save(update_fields=["in_force_until", "updated_at"])
    _refresh_plan_status(plan)
    # Classes II and III have no waiting period: acceptance brings the version into force.
    if name == "record_acceptance" and version.declared_risk_class != 1:
        plan_transition(
            actor=None, version=version, name="bring_into_force", effective_date=effective
        )
    return result


def _step_changes(
    version: PlanVersion, from_state: str, to_state: str, effective: dt.date, diff: dict[str, Any]
) -> dict[str, Any]:
    """What the ledger records for one step."""
    return {
        "plan": str(version.plan.external_id),
        "version": version.number,
        "from": from_state,
        "to": to_state,
        "effective_date": effective,
        "changes": diff,
    }


def _previous_step(version: PlanVersion) -> tuple[str, dt.date] | None:
    """The latest dated step of this version, or of the change that opened it (v2 onwards)."""
    steps = list(
        PlanTransition.objects.filter(version=version)
        .order_by("-effective_date", "-pk")
        .values_list("name", "effective_date")[:1]
    )
    if version.number > 1:
        steps += list(
            PlanTransition.objects.filter(
                plan_id=version.plan_id,
                name="start_major_change",
                version__number__lt=version.number,
            )
            .order_by("-effective_date", "-pk")
            .values_list("name", "effective_date")[:1]
        )
    return max(steps, key=lambda step: step[1]) if steps else None


def _minor_change_fields(changes: dict[str, Any] | None) -> frozenset[str]:
    """The fields a minor change names; empty or unknown names are refused here."""
    if not changes:
        raise ValidationFailed(
            "plan.minor_change_empty",
            _("Describe the minor change (which fields change and to what)."),
            {"changes": [_("Required.")]},
        )
    unknown = set(changes) - CHANGEABLE_FIELDS
    if unknown:
        raise ValidationFailed(
            "plan.unknown_fields",
            _("These fields cannot be set on a plan version: {fields}.").format(
                fields=", ".join(sorted(unknown))
            ),
            {name: [_("Unknown field.")] for name in sorted(unknown)},
        )
    return frozenset(changes)


def _apply_minor_change(version: PlanVersion, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a minor change (administrative fields only, checked by the transition's guard).

    Returns {field: [before, after]}; values are checked like a draft's (e.g. an e-mail address).
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        text = "" if value is None else str(value).strip()
        try:
            model_field = PlanVersion._meta.get_field(name)
            assert isinstance(model_field, models.Field)  # the minor fields are plain columns
            cleaned[name] = model_field.clean(text, version)
        except DjangoValidationError as exc:
            errors[name] = [str(m) for m in exc.messages]
    if errors:
        raise ValidationFailed("plan.invalid_value", _("Some values are not valid."), errors)
    diff = {}
    for name, value in cleaned.items():
        before = getattr(version, name)
        if before != value:
            diff[name] = [before, value]
            setattr(version, name, value)
    return diff


def _supersede_previous(*, actor: User | None, version: PlanVersion, effective: dt.date) -> None:
    """When a changed version comes into force, the one before it stops (ASRM Art. 5, 10)."""
    older = PlanVersion.objects.filter(
        plan=version.plan, number__lt=version.number, state=PlanState.IN_FORCE
    )
    for old in older:
        facts = PlanFacts(today=effective, successor_in_force=True)
        PLAN.check(old, "supersede", ctx={"facts": facts})
        from_state = old.state
        old.state = PlanState.SUPERSEDED
        old.in_force_until = max(old.in_force_from or effective, effective - dt.timedelta(days=1))
        old.save(update_fields=["state", "in_force_until", "updated_at"])
        PlanTransition.objects.create(
            organisation_id=old.organisation_id,
            plan=old.plan,
            version=old,
            name="supersede",
            from_state=from_state,
            to_state=PlanState.SUPERSEDED,
            effective_date=effective,
            actor=actor,
            reason=f"v{version.number}",
        )


def plan_follow_up_end_set(
    *, actor: User, plan: ProvisionPlan, follow_up_end_date: dt.date
) -> ProvisionPlan:
    """Record when follow-up of treated patients ends; periodic reports run until then (ASRM Art. 6)."""
    _require_change(actor, plan)
    with transaction.atomic():
        plan.follow_up_end_date = follow_up_end_date
        plan.save(update_fields=["follow_up_end_date", "updated_at"])
        obligation_services.periodic_obligations_refresh(actor=actor, plan=plan)
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="plan.follow_up_end_set",
            subject=plan,
            changes={"follow_up_end_date": follow_up_end_date},
        )
    return plan


def plan_next_steps(*, actor: User, version: PlanVersion) -> list[str]:
    """Steps whose conditions hold today for this version, to offer them first on the form.

    A resumption is listed as possible because the person recording it confirms the lifting.
    """
    if version.state in (PlanState.CLOSED, PlanState.SUPERSEDED):
        return []
    plan = version.plan
    end = plan.follow_up_end_date
    today = today_tokyo()
    facts = _facts(
        version,
        effective=today,
        plan_number=plan.plan_number,
        suspension_lifted=True,
        follow_up_finished=end is not None and end <= today,
    )
    steps = []
    for transition in PLAN.available(version, actor):
        try:
            PLAN.check(version, transition.name, actor=actor, ctx={"facts": facts})
        except DomainError:
            continue
        steps.append(transition.name)
    return steps
