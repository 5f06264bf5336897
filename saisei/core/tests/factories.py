from __future__ import annotations

from typing import Any

import factory

from saisei.core.models import Organisation, RoleGrant, Site, User

TEST_PASSWORD = "correct-horse-battery-9"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = Organisation.Kind.CLINIC_GROUP


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    kind = Site.Kind.MEDICAL_INSTITUTION


def _grant_roles(user: User, create: bool, extracted: Any, **kwargs: Any) -> None:
    for role in extracted or []:
        RoleGrant.objects.create(user=user, role=role)


def _set_password(user: User, create: bool, extracted: Any, **kwargs: Any) -> None:
    user.set_password(extracted or TEST_PASSWORD)
    user.save()


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    organisation = factory.SubFactory(OrganisationFactory)
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")

    # Post-generation hooks receive the created user; roles=[...] and password=... override.
    roles = factory.PostGeneration(_grant_roles)
    password = factory.PostGeneration(_set_password)
