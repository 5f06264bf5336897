"""Factories for journey records (tests only)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from saisei.core.tests.factories import OrganisationFactory, UserFactory
from saisei.journey import models as m
from saisei.regulatory.tests.factories import PlanFactory, VersionFactory


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Patient

    organisation = factory.SubFactory(OrganisationFactory)
    patient_code = factory.Sequence(lambda n: f"P2026-{n + 1:04d}")
    family_name = "Lee"
    given_name = factory.Sequence(lambda n: f"Ming{n}")
    date_of_birth = dt.date(1950, 3, 4)
    sex = "female"
    language = "en"
    email = factory.Sequence(lambda n: f"family{n}@example.test")
    currency = "USD"


class ConsentDocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.ConsentDocument

    plan_version = factory.SubFactory(VersionFactory)
    organisation = factory.LazyAttribute(lambda o: o.plan_version.organisation)
    language = "en"
    version = "1.0"
    title = "Explanation and consent"
    body = "What the treatment is, what it may and may not do, and the risks."
    effective_from = dt.date(2026, 1, 1)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Consent

    document = factory.SubFactory(ConsentDocumentFactory)
    organisation = factory.LazyAttribute(lambda o: o.document.organisation)
    patient = factory.LazyAttribute(lambda o: PatientFactory(organisation=o.organisation))
    plan_version = factory.LazyAttribute(lambda o: o.document.plan_version)
    given_by = "patient"
    signer_name = "Ming Lee"
    signed_at = factory.LazyFunction(timezone.now)
    explained_by = factory.LazyAttribute(
        lambda o: UserFactory(organisation=o.organisation, roles=["physician"])
    )


class TreatmentCourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.TreatmentCourse

    organisation = factory.SubFactory(OrganisationFactory)
    patient = factory.LazyAttribute(lambda o: PatientFactory(organisation=o.organisation))
    plan = factory.LazyAttribute(lambda o: PlanFactory(organisation=o.organisation))


class CourseStepFactory(factory.django.DjangoModelFactory):
    """A planned step; infusions default to the intravenous route and 1.0 × 10⁸ cells."""

    class Meta:
        model = m.CourseStep

    course = factory.SubFactory(TreatmentCourseFactory)
    organisation = factory.LazyAttribute(lambda o: o.course.organisation)
    kind = "infusion"
    number = 1
    route = factory.LazyAttribute(lambda o: "iv" if o.kind == "infusion" else "")
    planned_dose_cells = factory.LazyAttribute(
        lambda o: 100_000_000 if o.kind == "infusion" else None
    )
