"""Donors for allogeneic plans: registration, eligibility screening, consent, and the donation check.

The donor is a separate person from the recipient (ASRM Art. 2: allogeneic cells come from a
person other than the recipient). Donor records are kept apart: their own model, selectors and
permissions; a donation reaches its donor only through ``DonorLink`` (by DIN).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import User
from saisei.processing import permissions
from saisei.processing.donor_rules import BY_CODE, RESULTS, donor_criteria
from saisei.processing.models import Donation, Donor, DonorLink

from .common import aware, next_number, require, require_same_org

ALLOGENEIC = "allogeneic"


def _plan_cell_source(plan: Any, day: dt.date) -> str:
    from saisei.regulatory.selectors import plan_version_covering

    version = plan_version_covering(plan=plan, day=day) if plan is not None else None
    return ((version.cell_origin if version is not None else "") or "").lower()


def _plan_cell_source_filed(plan: Any, day: dt.date) -> str:
    """The cell source of the version in force on ``day``, else of the newest filed version: a
    donor may be registered while an accepted Class I plan waits out its restriction period."""
    from saisei.regulatory.selectors import version_in_force

    versions = list(plan.versions.filter(voided_at__isnull=True)) if plan is not None else []
    version = version_in_force(versions, day=day)
    return ((version.cell_origin if version is not None else "") or "").lower()


def donor_register(
    *,
    actor: User,
    plan: Any,
    family_name: str,
    given_name: str,
    birth_date: dt.date,
    sex: str = "",
) -> Donor:
    """Register a donor for an allogeneic plan (an autologous plan has no donors)."""
    require(permissions.can_screen_donor(actor))
    require_same_org(actor, plan)
    errors: dict[str, list[str]] = {}
    if not family_name.strip():
        errors["family_name"] = [_("Required.")]
    if not given_name.strip():
        errors["given_name"] = [_("Required.")]
    if birth_date is None or birth_date > timezone.localdate():
        errors["birth_date"] = [_("Enter the date of birth.")]
    if errors:
        raise ValidationFailed("donor_incomplete", _("Complete the donor's details."), errors)
    if _plan_cell_source_filed(plan, timezone.localdate()) != ALLOGENEIC:
        raise ValidationFailed(
            "donor_plan_not_allogeneic",
            _("This plan uses the patient's own cells; it has no donors."),
            {"plan": [_("Choose a plan whose cell source is allogeneic.")]},
        )
    with transaction.atomic():
        year = timezone.localdate().year
        n = next_number(key=f"DONOR:{actor.organisation_id}", year=year % 100)
        donor = Donor.objects.create(
            organisation=actor.organisation,
            donor_code=f"DNR-{year}-{n:04d}-{actor.organisation_id}",
            family_name=family_name.strip(),
            given_name=given_name.strip(),
            birth_date=birth_date,
            sex=sex.strip(),
            plan=plan,
        )
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="donor.register",
            subject=donor,
            changes={"donor_code": donor.donor_code, "plan": str(plan.external_id)},
        )
    return donor


def donor_screening_record(
    *, actor: User, donor: Donor, results: dict[str, str], at: dt.datetime | None = None
) -> Donor:
    """Record eligibility screening answers (pass, fail or pending per criterion)."""
    require(permissions.can_screen_donor(actor))
    require_same_org(actor, donor)
    clean: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for code, value in (results or {}).items():
        result = str(value).strip().lower()
        if code not in BY_CODE:
            errors[str(code)] = [_("Unknown criterion.")]
        elif result not in RESULTS:
            errors[str(code)] = [_("Enter pass, fail or pending.")]
        else:
            clean[code] = result
    if errors:
        raise ValidationFailed(
            "donor_screening", _("Some screening answers cannot be read."), errors
        )
    when = aware(at, field="at")
    with transaction.atomic():
        donor = Donor.objects.select_for_update().get(pk=donor.pk)
        before = dict(donor.screening)
        donor.screening = {**before, **clean}
        donor.screened_at = when
        donor.screened_by = actor
        donor.save(update_fields=["screening", "screened_at", "screened_by", "updated_at"])
        audit_record(
            actor=actor,
            organisation=donor.organisation,
            action="donor.screen",
            subject=donor,
            changes={"before": before, "after": donor.screening},
        )
    return donor


def donor_consent_record(
    *, actor: User, donor: Donor, signed_at: dt.datetime | None, form_version: str
) -> Donor:
    """Record the donor's written consent (the form version it was given on)."""
    require(permissions.can_consent_donor(actor))
    require_same_org(actor, donor)
    if not form_version.strip():
        raise ValidationFailed(
            "donor_consent_form",
            _("Name the consent form version the donor signed."),
            {"form_version": [_("Required.")]},
        )
    when = aware(signed_at, field="signed_at")
    with transaction.atomic():
        donor = Donor.objects.select_for_update().get(pk=donor.pk)
        donor.consent_signed_at = when
        donor.consent_form_version = form_version.strip()
        donor.consent_recorded_by = actor
        donor.consent_withdrawn_at = None
        donor.save()
        audit_record(
            actor=actor,
            organisation=donor.organisation,
            action="donor.consent",
            subject=donor,
            changes={"signed_at": when.isoformat(), "form_version": donor.consent_form_version},
        )
    return donor


def donor_consent_withdraw(*, actor: User, donor: Donor, reason: str) -> Donor:
    require(permissions.can_consent_donor(actor))
    require_same_org(actor, donor)
    with transaction.atomic():
        donor = Donor.objects.select_for_update().get(pk=donor.pk)
        donor.consent_withdrawn_at = timezone.now()
        donor.save(update_fields=["consent_withdrawn_at", "updated_at"])
        audit_record(
            actor=actor,
            organisation=donor.organisation,
            action="donor.consent_revoke",
            subject=donor,
            reason=reason,
        )
    return donor


def donor_problems(donor: Donor) -> dict[str, list[str]]:
    """Why the donor may not give cells now: empty when eligible and consented (fail closed)."""
    problems: dict[str, list[str]] = {}
    for criterion in donor_criteria():
        result = donor.screening.get(criterion.code)
        if result != "pass":
            problems.setdefault("screening", []).append(
                _("%(criterion)s: %(result)s")
                % {
                    "criterion": _(criterion.label),
                    "result": {"fail": _("failed"), "pending": _("pending")}.get(
                        result or "", _("not recorded")
                    ),
                }
            )
    if donor.consent_signed_at is None or donor.consent_withdrawn_at is not None:
        problems["consent"] = [_("The donor's written consent is not on record.")]
    if donor.is_voided:
        problems["donor"] = [_("This donor record is voided.")]
    return problems


def donor_eligible(donor: Donor) -> bool:
    return not donor_problems(donor)


def donation_donor_check(*, actor: User, plan: Any, day: dt.date, donor: Donor | None) -> None:
    """Refuse a harvest whose donor does not fit the plan: an allogeneic plan needs an eligible,
    consented donor registered for that plan; an autologous plan takes no donor (422)."""
    source = _plan_cell_source(plan, day)
    if source != ALLOGENEIC:
        if donor is not None:
            raise ValidationFailed(
                "donor_not_allowed",
                _("This plan uses the patient's own cells; a donor cannot be linked."),
                {"donor": [_("Leave the donor empty for an autologous plan.")]},
            )
        return
    if donor is None:
        raise ValidationFailed(
            "donor_required",
            _("This plan uses a donor's cells: choose an eligible, consented donor."),
            {"donor": [_("Required for an allogeneic plan.")]},
        )
    require_same_org(actor, donor)
    if donor.plan_id != getattr(plan, "pk", None):
        raise ValidationFailed(
            "donor_other_plan",
            _("This donor was screened for another plan."),
            {"donor": [_("Choose a donor registered for this plan.")]},
        )
    problems = donor_problems(donor)
    if problems:
        raise ValidationFailed(
            "donor_ineligible",
            _("The donor is not eligible or has not consented: %(why)s")
            % {"why": "; ".join(m for msgs in problems.values() for m in msgs)},
            {"donor": [m for msgs in problems.values() for m in msgs]},
        )


def donor_link_create(*, actor: User, donor: Donor, donation: Donation) -> DonorLink:
    """Link the donation (its DIN) to its donor; inside the harvest's transaction."""
    if DonorLink.objects.filter(donation=donation).exists():
        raise Conflict("donor_linked", _("This donation already has a donor."))
    link = DonorLink.objects.create(
        organisation=donation.organisation, donor=donor, donation=donation, din=donation.din
    )
    audit_record(
        actor=actor,
        organisation=donation.organisation,
        action="donor.link",
        subject=link,
        changes={"din": donation.din, "donor": donor.donor_code},
    )
    return link
