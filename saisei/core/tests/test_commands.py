"""The saisei console command: demo data is idempotent, tokens, audit verify."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from saisei.core.audit import audit_verify
from saisei.core.demo import load_demo
from saisei.core.models import ApiToken, AuditEntry, Organisation, User
from saisei.core.services import token_authenticate


@pytest.mark.django_db(transaction=False)
def test_demo_is_idempotent():
    load_demo(stdout=io.StringIO())
    counts = (Organisation.objects.count(), User.objects.count(), AuditEntry.objects.count())
    load_demo(stdout=io.StringIO())
    assert (
        Organisation.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
    ) == counts
    assert audit_verify() == []
    for role in (
        "coordinator",
        "physician",
        "nurse",
        "cpc_technician",
        "qa_manager",
        "compliance_officer",
        "committee_reviewer",
        "org_admin",
    ):
        assert User.objects.get(username=role).has_role(role)


def test_demo_command_prints_logins(db):
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    text = out.getvalue()
    assert "saisei-demo-2026" in text and "compliance_officer" in text


def test_token_create_and_revoke(org, make_user):
    user = make_user("physician", org)
    out = io.StringIO()
    call_command("token", "create", user.username, "--label", "lab", stdout=out)
    raw = out.getvalue().strip()
    assert token_authenticate(raw) == user
    token = ApiToken.objects.get()
    assert token.key_hash != raw and raw not in token.key_hash
    call_command("token", "revoke", raw[:12], stdout=io.StringIO())
    assert token_authenticate(raw) is None


def test_token_for_unknown_user_fails(db):
    with pytest.raises(CommandError):
        call_command("token", "create", "nobody")


def test_daily_queues_every_app_job(db):
    out = io.StringIO()
    call_command("daily", stdout=out)  # tests run tasks immediately
    text = out.getvalue()
    assert "regulatory" in text and "outcomes" in text
