"""The workflow engine: one refusal shape, one guard per move, conditional state writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from saisei.core.audit import audit_verify
from saisei.core.errors import Conflict, Forbidden
from saisei.core.models import AuditEntry, Notification, Role
from saisei.core.workflow import Lifecycle, Refusal, Transition, lifecycles, render_markdown


def _needs_body(obj: Any, ctx: dict[str, Any]) -> Any:
    """An escalation says why (test rule)."""
    if not obj.body.strip():
        return "Write why before escalating."
    return None


# A small lifecycle over a core model's string field, so the engine is tested without any app.
ALERT = Lifecycle(
    name="test_alert",
    model="core.Notification",
    field="level",
    title="Test alert",
    states=(("info", "Information"), ("warn", "Warning"), ("danger", "Danger")),
    transitions=(
        Transition(
            "escalate",
            frozenset({"info"}),
            "warn",
            "Escalate",
            guard=_needs_body,
            guard_code="alert_needs_body",
            source="Test rule, art. 1",
            effects="Raises the level.",
        ),
        Transition(
            "alarm",
            frozenset({"warn"}),
            "danger",
            "Sound the alarm",
            roles=frozenset({Role.QA_MANAGER}),
        ),
    ),
)


@pytest.fixture
def alert(org: Any, make_user: Any) -> Notification:
    user = make_user(Role.CPC_TECHNICIAN, org)
    return Notification.objects.create(organisation=org, user=user, subject="s", body="why")


def test_apply_moves_writes_the_ledger_and_returns_the_fresh_record(
    alert: Notification, make_user: Any, org: Any
) -> None:
    tech = make_user(Role.CPC_TECHNICIAN, org)
    moved = ALERT.apply(alert, "escalate", actor=tech, reason="r", changes={"k": "v"})
    assert moved.level == "warn"
    entry = AuditEntry.objects.get(action="notification.escalate")
    assert entry.changes == {"from": "info", "to": "warn", "k": "v"}
    assert entry.reason == "r"
    assert audit_verify(organisation=org) == []


def test_wrong_move_and_unknown_move_are_invalid_transition(alert: Notification) -> None:
    with pytest.raises(Conflict) as exc:
        ALERT.check(alert, "alarm")
    assert exc.value.code == "invalid_transition" and exc.value.status_code == 409
    assert "Sound the alarm" in str(exc.value.message)
    assert "Information" in str(exc.value.message)
    assert list(exc.value.fields) == ["state"]
    with pytest.raises(Conflict) as exc:
        ALERT.check(alert, "no_such_move")
    assert exc.value.code == "invalid_transition"


def test_guard_refusal_carries_its_own_code_rule_and_source(alert: Notification) -> None:
    alert.body = " "
    with pytest.raises(Conflict) as exc:
        ALERT.check(alert, "escalate")
    assert exc.value.code == "alert_needs_body"
    assert [str(m) for m in exc.value.fields["rule"]] == [
        "Write why before escalating.",
        "Test rule, art. 1",
    ]
    assert ALERT.get("escalate").rule == "An escalation says why (test rule)."  # type: ignore[union-attr]


def test_role_not_allowed_is_forbidden(alert: Notification, make_user: Any, org: Any) -> None:
    Notification.objects.filter(pk=alert.pk).update(level="warn")
    alert.refresh_from_db()
    tech = make_user(Role.CPC_TECHNICIAN, org)
    qa = make_user(Role.QA_MANAGER, org)
    with pytest.raises(Forbidden) as exc:
        ALERT.check(alert, "alarm", actor=tech)
    assert exc.value.code == "forbidden" and exc.value.status_code == 403
    assert [t.name for t in ALERT.available(alert, tech)] == []
    assert [t.name for t in ALERT.available(alert, qa)] == ["alarm"]
    assert ALERT.apply(alert, "alarm", actor=qa).level == "danger"


def test_concurrent_moves_only_one_wins(alert: Notification, make_user: Any, org: Any) -> None:
    tech = make_user(Role.CPC_TECHNICIAN, org)
    first = Notification.objects.get(pk=alert.pk)
    second = Notification.objects.get(pk=alert.pk)
    ALERT.apply(first, "escalate", actor=tech)
    # The second copy still reads "info": its check passes, but the conditional UPDATE
    # (filtered on level="info") matches no row, so it loses with invalid_transition.
    with pytest.raises(Conflict) as exc:
        ALERT.apply(second, "escalate", actor=tech)
    assert exc.value.code == "invalid_transition"
    assert second.level == "warn"
    assert AuditEntry.objects.filter(action="notification.escalate").count() == 1


def test_mermaid_is_generated_from_the_table() -> None:
    text = ALERT.mermaid()
    assert text.splitlines()[0] == "stateDiagram-v2"
    assert '    state "Information" as info' in text
    assert "    [*] --> info" in text
    assert "    info --> warn: Escalate" in text
    assert "    warn --> danger: Sound the alarm" in text
    assert "    danger --> [*]" in text
    md = render_markdown([ALERT])
    assert "## Test alert" in md and "`alert_needs_body`" in md and "Test rule, art. 1" in md


def test_table_refers_only_to_declared_states() -> None:
    with pytest.raises(ValueError):
        Lifecycle(
            name="bad",
            model="core.Notification",
            field="level",
            states=(("info", "I"),),
            transitions=(Transition("x", frozenset({"info"}), "nowhere", "X"),),
        )


def test_every_app_lifecycle_names_real_fields_and_choices() -> None:
    for lc in lifecycles():
        model = lc.model_class()
        field = model._meta.get_field(lc.field)
        choices = {value for value, _label in field.choices or []}
        assert {value for value, _label in lc.states} == choices, lc.name


def test_lifecycles_document_check_detects_drift(tmp_path: Path) -> None:
    call_command("lifecycles", "docs/lifecycles.md", "--check")
    stale = tmp_path / "lifecycles.md"
    stale.write_text(render_markdown() + "\nedited by hand\n")
    with pytest.raises(CommandError):
        call_command("lifecycles", str(stale), "--check")
    call_command("lifecycles", str(stale))
    call_command("lifecycles", str(stale), "--check")


def test_a_guard_may_keep_a_more_specific_code_and_name_fields(alert: Notification) -> None:
    def guard(obj: Any, ctx: dict[str, Any]) -> Any:
        """Test rule with two ways to fail."""
        return Refusal("Too long.", code="alert_too_long", fields=("body",))

    lc = Lifecycle(
        name="t",
        model="core.Notification",
        field="level",
        states=(("info", "I"), ("warn", "W")),
        transitions=(Transition("go", frozenset({"info"}), "warn", "Go", guard=guard),),
    )
    with pytest.raises(Conflict) as exc:
        lc.check(alert, "go")
    assert exc.value.code == "alert_too_long"
    assert exc.value.fields == {"rule": ["Too long."], "body": ["Too long."]}
