"""The one workflow engine: every lifecycle is a table of transitions with one guard apiece.

An app declares its lifecycles in ``<app>/lifecycles.py`` as ``LIFECYCLES: list[Lifecycle]``;
core collects them (as the shell collects navigation) to render ``docs/lifecycles.md``.
Services move records only through :meth:`Lifecycle.apply` (or :meth:`Lifecycle.check` when the
service writes the record itself), so every wrong move is refused the same way:

- unknown move, or the record is not in one of the move's source states: ``Conflict`` (409)
  ``invalid_transition``;
- the actor holds none of the roles the move names: ``Forbidden`` (403) ``forbidden``;
- the move's guard refuses: ``Conflict`` (409) with the guard's own stable code, and the rule's
  message and citation in ``fields["rule"]``.

Each guard's docstring states its rule; the transition's ``source`` cites where the rule comes
from (law and article, or standard). The state is written with a conditional UPDATE filtered on
the state that was checked, so of two concurrent moves only one succeeds.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.apps import apps
from django.db import models, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden
from saisei.core.models import Role
from saisei.core.registry import collect

Guard = Callable[[Any, dict[str, Any]], Any]


def no_rule(obj: Any, ctx: dict[str, Any]) -> Any:
    """No rule beyond the source state."""
    return None


def rule_text(guard: Guard) -> str:
    """A guard's rule as one line of text (its docstring, whitespace collapsed)."""
    return " ".join((inspect.getdoc(guard) or "").split())


@dataclass(frozen=True)
class Refusal:
    """A guard's answer when its one rule can fail in ways clients already tell apart by code.

    A guard usually returns just the message (the transition's ``guard_code`` is used); it
    returns a Refusal to keep a more specific stable code, and to name the input ``fields`` the
    refusal is about (the message is shown on each).
    """

    message: Any
    code: str = ""
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transition:
    """One move: from any of ``sources`` to ``target``, allowed to ``roles`` if ``guard`` passes.

    ``roles`` None means any role the service's own permission check already allowed.
    ``targets`` lists further states the service may choose at apply time (e.g. a hold lifted
    back to the state the record had before); ``target`` is the usual one.
    """

    name: str
    sources: frozenset[str]
    target: str
    label: Any
    roles: frozenset[str] | None = None
    guard: Guard = no_rule
    guard_code: str = ""
    source: str = ""
    effects: str = ""
    targets: frozenset[str] = field(default_factory=frozenset)

    @property
    def refusal_code(self) -> str:
        return self.guard_code or f"{self.name}_refused"

    @property
    def rule(self) -> str:
        return rule_text(self.guard)


@dataclass(frozen=True)
class Lifecycle:
    """The states of one model's state field and the moves between them."""

    name: str
    model: str  # "app_label.ModelName"
    states: tuple[tuple[str, Any], ...]  # ordered (value, label); the first is the initial state
    transitions: tuple[Transition, ...]
    field: str = "status"
    title: Any = ""
    organisation_field: str = "organisation"

    def __post_init__(self) -> None:
        known = {value for value, _label in self.states}
        names = [t.name for t in self.transitions]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.name}: duplicate transition names")
        for t in self.transitions:
            unknown = (t.sources | {t.target} | t.targets) - known
            if unknown:
                raise ValueError(f"{self.name}.{t.name}: unknown states {sorted(unknown)}")

    # --- reading the table -------------------------------------------------------------------

    def get(self, name: str) -> Transition | None:
        for t in self.transitions:
            if t.name == name:
                return t
        return None

    def state_label(self, value: str) -> Any:
        for v, label in self.states:
            if v == value:
                return label
        return value

    def state_of(self, obj: Any) -> str:
        return str(getattr(obj, self.field))

    def model_class(self) -> type[models.Model]:
        return apps.get_model(self.model)

    def role_allows(self, transition: Transition, actor: Any) -> bool:
        if transition.roles is None or actor is None:
            return True
        return bool(set(getattr(actor, "roles", ())) & transition.roles)

    def available(self, obj: Any, actor: Any) -> list[Transition]:
        """Moves whose source state matches and whose roles the actor holds (guards not run:
        they need the service's context; a listed move may still be refused by its rule)."""
        state = self.state_of(obj)
        return [t for t in self.transitions if state in t.sources and self.role_allows(t, actor)]

    # --- refusing and moving -----------------------------------------------------------------

    def _invalid(self, obj: Any, name: str, transition: Transition | None) -> Conflict:
        state_label = self.state_label(self.state_of(obj))
        move = transition.label if transition is not None else name
        message = _("“%(move)s” is not possible while the status is %(state)s.") % {
            "move": move,
            "state": state_label,
        }
        return Conflict("invalid_transition", message, {"state": [message]})

    def check(
        self,
        obj: Any,
        name: str,
        *,
        actor: Any = None,
        ctx: dict[str, Any] | None = None,
    ) -> Transition:
        """Refuse unless the move exists, starts from the record's state, the actor holds one of
        its roles and its guard passes; return the transition."""
        transition = self.get(name)
        if transition is None or self.state_of(obj) not in transition.sources:
            raise self._invalid(obj, name, transition)
        if not self.role_allows(transition, actor):
            raise Forbidden(
                _("Your role may not do “%(move)s”.") % {"move": transition.label}, "forbidden"
            )
        refusal = transition.guard(obj, ctx or {})
        if refusal:
            raise _guard_refusal(transition, refusal)
        return transition

    def apply(
        self,
        obj: Any,
        name: str,
        *,
        actor: Any,
        ctx: dict[str, Any] | None = None,
        reason: str = "",
        changes: dict[str, Any] | None = None,
        updates: dict[str, Any] | None = None,
        audit_action: str | None = None,
        target: str | None = None,
    ) -> Any:
        """Check the move, write the new state (and ``updates``) only if the row still holds the
        checked state, record it on the audit ledger and return the refreshed record."""
        with transaction.atomic():
            transition = self.check(obj, name, actor=actor, ctx=ctx)
            new_state = transition.target if target is None else target
            if new_state not in {transition.target} | transition.targets:
                raise ValueError(f"{self.name}.{name}: {new_state} is not a target")
            before = self.state_of(obj)
            model = type(obj)
            values: dict[str, Any] = {self.field: new_state, **(updates or {})}
            if any(f.name == "updated_at" for f in model._meta.concrete_fields):
                values.setdefault("updated_at", timezone.now())
            moved = model._default_manager.filter(pk=obj.pk, **{self.field: before}).update(
                **values
            )
            if moved != 1:
                obj.refresh_from_db()
                raise self._invalid(obj, name, transition)
            obj.refresh_from_db()
            audit_record(
                actor=actor,
                organisation=getattr(obj, self.organisation_field),
                action=audit_action or f"{model._meta.model_name}.{transition.name}",
                subject=obj,
                changes={"from": before, "to": new_state, **(changes or {})},
                reason=reason,
            )
        return obj

    # --- rendering ---------------------------------------------------------------------------

    def mermaid(self) -> str:
        """The lifecycle as a Mermaid state diagram, generated from the table."""
        with translation.override("en"):
            lines = ["stateDiagram-v2"]
            for value, label in self.states:
                lines.append(f'    state "{label}" as {value}')
            lines.append(f"    [*] --> {self.states[0][0]}")
            for t in self.transitions:
                for src in sorted(t.sources, key=self._order):
                    for dst in sorted({t.target} | t.targets, key=self._order):
                        lines.append(f"    {src} --> {dst}: {t.label}")
            outgoing = {s for t in self.transitions for s in t.sources}
            for value, _label in self.states:
                if value not in outgoing:
                    lines.append(f"    {value} --> [*]")
        return "\n".join(lines)

    def _order(self, value: str) -> int:
        return [v for v, _label in self.states].index(value)

    def markdown(self) -> str:
        with translation.override("en"):
            title = self.title or self.name
            out = [
                f"## {title}",
                "",
                f"`{self.model}.{self.field}` — lifecycle `{self.name}`.",
                "",
                "```mermaid",
                self.mermaid(),
                "```",
                "",
                "| Move | From | To | Roles | Rule (guard) | Refusal code | Source | Effects |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for t in self.transitions:
                sources = ", ".join(
                    str(self.state_label(s)) for s in sorted(t.sources, key=self._order)
                )
                targets = ", ".join(
                    str(self.state_label(s))
                    for s in sorted({t.target} | t.targets, key=self._order)
                )
                cells = [
                    f"{t.label} (`{t.name}`)",
                    sources,
                    targets,
                    _roles_text(t.roles),
                    t.rule,
                    f"`{t.refusal_code}`" if t.guard is not no_rule else "—",
                    t.source or "—",
                    t.effects or "—",
                ]
                out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        return "\n".join(out)


def _guard_refusal(transition: Transition, refusal: Any) -> Conflict:
    code, message = transition.refusal_code, refusal
    fields: tuple[str, ...] = ()
    if isinstance(refusal, Refusal):
        code, message, fields = refusal.code or code, refusal.message, refusal.fields
    rule = [message, transition.source] if transition.source else [message]
    return Conflict(code, message, {"rule": rule, **{f: [message] for f in fields}})


def _roles_text(roles: Iterable[str] | None) -> str:
    if roles is None:
        return "as the service's permission check"
    labels = dict(Role.choices)
    return ", ".join(str(labels.get(r, r)) for r in sorted(roles))


@cache
def lifecycles() -> list[Lifecycle]:
    """Every app's lifecycles, in app order."""
    return list(collect("lifecycles", "LIFECYCLES"))


def render_markdown(items: Iterable[Lifecycle] | None = None) -> str:
    with translation.override("en"):
        parts = [
            "# Lifecycles",
            "",
            "Generated by `saisei lifecycles docs/lifecycles.md` from each app's `lifecycles.py`;"
            " CI fails if this file differs from the tables. Every wrong move is refused the same"
            " way: `invalid_transition` (409) for a move that does not start from the record's"
            " state, `forbidden` (403) for a role the move does not allow, and the guard's own"
            " code (409) when its rule refuses. See docs/architecture.md § Lifecycles.",
        ]
        for lc in lifecycles() if items is None else items:
            parts += ["", lc.markdown()]
    return "\n".join(parts)
