"""Writes to the registry: institutions, committees, processing facilities and physicians."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.models import Site, User
from saisei.core.permissions import org_id_of
from saisei.regulatory import permissions
from saisei.regulatory.models import (
    CertifiedCommittee,
    MedicalInstitution,
    Physician,
    ProcessingFacility,
)
from saisei.regulatory.services.facility import facility_authorisation_record


def _require_manager(actor: User) -> None:
    if not permissions.can_manage_registry(actor):
        raise Forbidden()


def _save(obj: Any, *, actor: User, action: str, changes: dict[str, Any]) -> Any:
    try:
        with transaction.atomic():
            obj.save()
            audit_record(
                actor=actor,
                organisation=actor.organisation,
                action=action,
                subject=obj,
                changes=changes,
            )
    except IntegrityError as exc:
        raise Conflict(
            "registry.duplicate",
            _("A record with this number already exists in your organisation."),
        ) from exc
    return obj


def institution_create(
    *,
    actor: User,
    site: Site,
    name: str,
    administrator_name: str,
    address: str = "",
    name_ja: str = "",
    emergency_capacity: str = "",
) -> MedicalInstitution:
    """Register the site as a medical institution that may file provision plans (ASRM Art. 4)."""
    _require_manager(actor)
    if site.organisation_id != actor.organisation_id:
        raise Forbidden()
    if site.kind != Site.Kind.MEDICAL_INSTITUTION:
        raise ValidationFailed(
            "institution.site_kind",
            _("Only a medical-institution site can file provision plans."),
            {"site": [_("Choose a medical-institution site.")]},
        )
    obj = MedicalInstitution(
        organisation_id=org_id_of(actor),
        site=site,
        name=name,
        name_ja=name_ja,
        address=address or site.address[:100],
        administrator_name=administrator_name,
        emergency_capacity=emergency_capacity,
    )
    return _save(
        obj, actor=actor, action="institution.create", changes={"name": name, "site": site.name}
    )


def committee_create(
    *,
    actor: User,
    name: str,
    kind: str,
    certification_number: str,
    name_ja: str = "",
    contact: str = "",
) -> CertifiedCommittee:
    """Register a committee with its certification number (認定番号; ASRM Art. 26)."""
    _require_manager(actor)
    if kind not in CertifiedCommittee.Kind.values:
        raise ValidationFailed("committee.kind", _("Unknown committee type."), {"kind": [kind]})
    obj = CertifiedCommittee(
        organisation_id=org_id_of(actor),
        name=name,
        name_ja=name_ja,
        kind=kind,
        certification_number=certification_number.strip(),
        contact=contact,
    )
    return _save(
        obj,
        actor=actor,
        action="committee.create",
        changes={"name": name, "kind": kind, "certification_number": certification_number},
    )


def facility_create(
    *,
    actor: User,
    name: str,
    authorisation: str,
    facility_number: str,
    manager_name: str,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    site: Site | None = None,
    name_ja: str = "",
    country: str = "JP",
    authorisation_number: str = "",
    scope: str = "",
) -> ProcessingFacility:
    """Register a cell processing facility (ASRM Ch. IV) with the first record of its licence
    register when its licence, notification or accreditation and the day it took effect are
    given; without them the facility is registered but not authorised."""
    _require_manager(actor)
    if authorisation not in ProcessingFacility.Authorisation.values:
        raise ValidationFailed(
            "facility.authorisation",
            _("Unknown authorisation type."),
            {"authorisation": [authorisation]},
        )
    if site is not None and site.organisation_id != actor.organisation_id:
        raise Forbidden()
    if valid_from and valid_until and valid_until < valid_from:
        raise ValidationFailed(
            "facility.validity",
            _("The authorisation cannot end before it starts."),
            {"valid_until": [_("The authorisation cannot end before it starts.")]},
        )
    obj = ProcessingFacility(
        organisation_id=org_id_of(actor),
        name=name,
        name_ja=name_ja,
        site=site,
        facility_number=facility_number.strip(),
        manager_name=manager_name,
        country=country,
    )
    with transaction.atomic():
        _save(
            obj,
            actor=actor,
            action="facility.create",
            changes={
                "name": name,
                "authorisation": authorisation,
                "facility_number": facility_number,
            },
        )
        if valid_from is not None and authorisation != ProcessingFacility.Authorisation.REVOKED:
            # The first record of the register; the yearly report starts with it.
            facility_authorisation_record(
                actor=actor,
                facility=obj,
                kind=authorisation,
                number=authorisation_number or facility_number,
                scope=scope or _("Specified processed cells as listed in the provision plans"),
                valid_from=valid_from,
                valid_until=valid_until,
            )
    return obj


def physician_create(
    *,
    actor: User,
    user: User,
    name: str,
    licence_number: str,
    institution: MedicalInstitution | None = None,
    name_ja: str = "",
) -> Physician:
    """Link a staff account to a physician record so plans can list who may perform them."""
    _require_manager(actor)
    if user.organisation_id != actor.organisation_id:
        raise Forbidden()
    if not licence_number.strip():
        raise ValidationFailed(
            "physician.licence_required",
            _("Enter the medical licence number."),
            {"licence_number": [_("Enter the medical licence number.")]},
        )
    obj = Physician(
        organisation_id=org_id_of(actor),
        user=user,
        name=name,
        name_ja=name_ja,
        licence_number=licence_number.strip(),
        institution=institution,
    )
    return _save(
        obj,
        actor=actor,
        action="physician.create",
        changes={"user": user.username, "licence_number": licence_number},
    )
