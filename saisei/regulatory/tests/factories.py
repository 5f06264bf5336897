"""Factories for the regulatory registry, plans and obligations (tests only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from saisei.core.tests.factories import OrganisationFactory, SiteFactory, UserFactory
from saisei.regulatory import models as m


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.MedicalInstitution

    organisation = factory.SubFactory(OrganisationFactory)
    site = factory.LazyAttribute(
        lambda o: SiteFactory(organisation=o.organisation, kind="medical_institution")
    )
    name = factory.Sequence(lambda n: f"Clinic {n}")
    administrator_name = "Dr. Admin"
    address = "1-1 Chiyoda, Tokyo"


class CommitteeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.CertifiedCommittee

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Committee {n}")
    kind = m.CertifiedCommittee.Kind.SPECIALLY_CERTIFIED
    certification_number = factory.Sequence(lambda n: f"NA81500{n:03d}")


class FacilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ProcessingFacility
        skip_postgeneration_save = True

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"CPC {n}")
    facility_number = factory.Sequence(lambda n: f"FA3{n:06d}")
    manager_name = "Manager"

    # The first record of the licence register (valid_from None or "revoked": no record);
    # taken out of the model's fields in ``_create``.
    authorisation = m.AuthorisationKind.NOTIFIED
    valid_from = dt.date(2020, 1, 1)
    valid_until = None

    @factory.post_generation
    def register(obj, create: bool, extracted: Any, **kwargs: Any) -> None:
        params = getattr(obj, "_factory_register", None)
        if params is None:
            return
        if not create or params.get("valid_from") is None or params["authorisation"] == "revoked":
            return
        until = params.get("valid_until")
        if params["authorisation"] != m.AuthorisationKind.NOTIFIED and until is None:
            until = params["valid_from"] + dt.timedelta(days=5 * 365)
        m.FacilityAuthorisation.objects.create(
            organisation=obj.organisation,
            facility=obj,
            kind=params["authorisation"],
            number=f"N-{obj.facility_number}",
            scope="Autologous adipose-derived MSC, culture and expansion",
            valid_from=params["valid_from"],
            valid_until=until,
        )

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        params = {
            k: kwargs.pop(k) for k in ("authorisation", "valid_from", "valid_until") if k in kwargs
        }
        obj = super()._create(model_class, *args, **kwargs)
        obj._factory_register = params
        return obj


class PhysicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Physician

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.LazyAttribute(
        lambda o: UserFactory(organisation=o.organisation, roles=["physician"])
    )
    name = factory.Sequence(lambda n: f"Dr. {n}")
    licence_number = factory.Sequence(lambda n: f"5{n:05d}")


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ProvisionPlan

    organisation = factory.SubFactory(OrganisationFactory)
    institution = factory.LazyAttribute(lambda o: InstitutionFactory(organisation=o.organisation))
    title = "Autologous adipose MSC for Alzheimer's disease"
    risk_class = 2


class VersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.PlanVersion
        skip_postgeneration_save = True

    plan = factory.SubFactory(PlanFactory)
    organisation = factory.LazyAttribute(lambda o: o.plan.organisation)
    number = factory.Sequence(lambda n: n + 1)
    treatment_name = "Autologous adipose MSC"
    target_disease = "Alzheimer's disease"
    cell_origin = "autologous"
    cell_type = "somatic_stem"
    tissue = "adipose"
    cultured = True
    homologous_use = False
    routes = factory.LazyFunction(lambda: ["iv"])
    dose_min_cells = 100_000_000
    dose_max_cells = 300_000_000
    max_administrations = 10
    declared_risk_class = 2
    computed_risk_class = 2
    documents_complete = True
    consent_document_versions = factory.LazyFunction(lambda: ["ICF-ALZ-1.0"])


class ObligationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Obligation

    plan = factory.SubFactory(PlanFactory)
    organisation = factory.LazyAttribute(lambda o: o.plan.organisation)
    kind = m.ObligationKind.MINOR_CHANGE
    recipient = m.Recipient.MINISTRY
    title = "Notify a minor change to the plan."
    due_date = dt.date(2026, 1, 10)
    rule_id = "MINOR-CHANGE-NOTICE"
    source = "ASRM Art. 5(3)"
    subject_type = "test"
    subject_id = factory.Sequence(lambda n: f"s{n}")


def build(**kw: Any) -> Any:  # pragma: no cover - convenience for the shell
    return VersionFactory(**kw)
