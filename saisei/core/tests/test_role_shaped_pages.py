"""Pages show a role only the forms and buttons it can use (issue 15, scope 2).

Each case opens one page as every role through the Django test client and looks for a mark of
one form or button (its action URL or a field name). A role the permission allows must see it;
any other role must not (the server still refuses, see test_role_matrix.py). Who is allowed is
read from the same permission code the services check, and a few expectations are also spelled
out by hand so a wrong permission would not pass unnoticed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.template import Context, Template
from django.urls import reverse

from saisei.core.models import Role
from saisei.core.roles import allowed, load_matrix

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Shown:
    """On ``page(subject)``, ``mark`` is shown exactly to the roles that ``permission`` allows.

    ``permission`` is a role-matrix code (``lot.release``) or ``app:verb`` for an app whose
    permissions are ``can_<verb>`` functions (``journey:manage_quote``).
    """

    setup: Callable[[SimpleNamespace], Any]
    page: Callable[[Any], str]
    mark: Callable[[Any], str]
    permission: str


def permits(permission: str, user: Any) -> bool:
    if ":" in permission:
        app, verb = permission.split(":")
        return bool(
            getattr(importlib.import_module(f"saisei.{app}.permissions"), f"can_{verb}")(user)
        )
    return allowed(user, load_matrix()[permission])


def _f() -> Any:
    from saisei.processing.tests import factories

    return factories


def _patient(c: SimpleNamespace) -> Any:
    return _f().make_patient(c.org)


def _donation(c: SimpleNamespace) -> Any:
    return _f().make_donation(c.tech, _patient(c))


def _qc_pending_lot(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    lot = _f().make_lot(c.tech, _patient(c))
    _f().harvest(c.tech, lot)
    services.dose_divide(actor=c.tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])
    return services.lot_submit_qc(actor=c.tech, lot=lot)


def _released_dose(c: SimpleNamespace) -> Any:
    return _f().released_lot(c.tech, c.qa, _patient(c), bags=1).doses.get()


def _open_deviation(c: SimpleNamespace) -> Any:
    from saisei.processing import services

    return services.deviation_open(actor=c.tech, title="Door left open", source="other")


def _planned_course(c: SimpleNamespace) -> Any:
    course = _f().make_course(_patient(c))
    type(course).objects.filter(pk=course.pk).update(status="planned")
    return course


def _inquiry(c: SimpleNamespace) -> Any:
    from saisei.journey.tests.test_services import submit

    return submit(c.org)


def _url(name: str, attr: str = "external_id") -> Callable[[Any], str]:
    return lambda s: reverse(name, args=[getattr(s, attr)])


def _plain(name: str) -> Callable[[Any], str]:
    return lambda s: reverse(name)


def _const(text: str) -> Callable[[Any], str]:
    return lambda s: text


CASES: dict[str, Shown] = {
    # processing: donation detail
    "donation markers form": Shown(
        _donation,
        _url("processing:donation_detail"),
        _url("processing:donation_markers"),
        "donation.markers",
    ),
    "donation label printing": Shown(
        _donation,
        _url("processing:donation_detail"),
        _url("processing:donation_labels"),
        "label.donation_print",
    ),
    "donation hand-over": Shown(
        _donation,
        _url("processing:donation_detail"),
        _url("processing:donation_handover"),
        "custody.handover",
    ),
    "start a lot": Shown(
        _donation,
        _url("processing:donation_detail"),
        _url("processing:donation_start_lot"),
        "culture.record",
    ),
    # processing: lot detail
    "QA release button": Shown(
        _qc_pending_lot,
        _url("processing:lot_detail"),
        _url("processing:lot_release"),
        "lot.release",
    ),
    "QC result form": Shown(
        _qc_pending_lot, _url("processing:lot_detail"), _url("processing:lot_qc"), "qc.record"
    ),
    # processing: dose detail
    "dose label printing": Shown(
        _released_dose,
        _url("processing:dose_detail"),
        _url("processing:dose_labels"),
        "label.dose_print",
    ),
    "dose storage form": Shown(
        _released_dose,
        _url("processing:dose_detail"),
        _url("processing:dose_store"),
        "culture.record",
    ),
    "dose thaw form": Shown(
        _released_dose, _url("processing:dose_detail"), _url("processing:dose_thaw"), "dose.thaw"
    ),
    "dose hand-over button": Shown(
        _released_dose,
        _url("processing:dose_detail"),
        _url("processing:handover"),
        "custody.handover",
    ),
    # processing: deviations and the CPC board
    "deviation investigation form": Shown(
        _open_deviation,
        _url("processing:deviation_detail"),
        _const('name="capa"'),
        "deviation.manage",
    ),
    "open a deviation": Shown(
        _open_deviation, _plain("processing:deviations"), _const('name="title"'), "deviation.manage"
    ),
    "record a harvest": Shown(
        _patient, _plain("processing:board"), _plain("processing:donation_new"), "donation.record"
    ),
    # journey
    "build a quote": Shown(
        _patient,
        _url("journey:patient_detail"),
        _url("journey:quote_new"),
        "journey:manage_quote",
    ),
    "pre-screen": Shown(
        _patient,
        _url("journey:patient_detail"),
        _url("journey:prescreen_new"),
        "journey:record_prescreen",
    ),
    "start a course": Shown(
        _patient,
        _url("journey:patient_detail"),
        _url("journey:course_new"),
        "journey:manage_course",
    ),
    "send a portal link": Shown(
        _patient,
        _url("journey:patient_detail"),
        _url("journey:portal_link"),
        "journey:issue_portal_link",
    ),
    "schedule the course again": Shown(
        _planned_course,
        _url("journey:course_detail"),
        _const("Check the gate and schedule again"),
        "journey:manage_course",
    ),
    "work an inquiry": Shown(
        _inquiry, _url("journey:inquiry_detail"), _const("Change status"), "journey:manage_inquiry"
    ),
    "plan an itinerary": Shown(
        _patient, _url("journey:itinerary"), _const("Plan itinerary"), "journey:plan_itinerary"
    ),
    "record a guarantor": Shown(
        _patient, _url("journey:visa"), _const('value="guarantor"'), "journey:manage_travel"
    ),
}


@pytest.fixture
def ctx(org: Any, make_user: Any, web_for: Any) -> SimpleNamespace:
    users = {role: make_user(role, org) for role in Role.values}
    return SimpleNamespace(
        org=org,
        users=users,
        tech=users[Role.CPC_TECHNICIAN],
        qa=users[Role.QA_MANAGER],
        web_for=web_for,
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_page_shows_a_form_only_to_the_roles_that_can_use_it(
    name: str, ctx: SimpleNamespace, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    case = CASES[name]
    subject = case.setup(ctx)
    url, mark = case.page(subject), case.mark(subject)
    seen: dict[str, bool] = {}
    for role, user in ctx.users.items():
        res = ctx.web_for(user).get(url)
        may = permits(case.permission, user)
        if may:
            assert res.status_code == 200, (name, role, res.status_code)
        seen[role] = res.status_code == 200 and mark in res.content.decode()
        assert seen[role] == may, (name, role, "shown" if seen[role] else "hidden")
    assert any(seen.values()), f"{name}: no role sees it; the case proves nothing"
    assert not all(seen.values()), f"{name}: every role sees it; the case proves nothing"


def test_the_roles_the_brief_names_by_hand(ctx: SimpleNamespace) -> None:
    """Spelled out: only QA releases; a nurse does not start courses or build quotes."""
    u = ctx.users
    assert permits("lot.release", u[Role.QA_MANAGER])
    assert not permits("lot.release", u[Role.CPC_TECHNICIAN])
    assert not permits("lot.release", u[Role.NURSE])
    assert not permits("journey:manage_course", u[Role.NURSE])
    assert not permits("journey:manage_quote", u[Role.NURSE])
    assert not permits("deviation.manage", u[Role.COMMITTEE_REVIEWER])


def _render(source: str, user: Any) -> str:
    return Template("{% load saisei_roles %}" + source).render(Context({"user": user}))


def test_the_filters_fail_closed(ctx: SimpleNamespace) -> None:
    qa = ctx.qa
    assert _render('{% if user|may:"lot.release" %}yes{% endif %}', qa) == "yes"
    assert _render('{% if user|may:"lot.relaese" %}yes{% endif %}', qa) == ""
    assert _render('{% if user|can:"journey.no_such_thing" %}yes{% endif %}', qa) == ""
    assert _render('{% if user|can:"os.system" %}yes{% endif %}', qa) == ""
    anonymous = SimpleNamespace(is_authenticated=False)
    assert _render('{% if user|may:"lot.release" %}yes{% endif %}', anonymous) == ""


def test_every_permission_a_template_asks_exists() -> None:
    """A misspelt code would hide a form from everyone; catch it here rather than in the clinic."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    matrix = load_matrix()
    unknown = []
    for path in root.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for code in re.findall(r'\|may:"([^"]+)"', text):
            if code not in matrix:
                unknown.append(f"{path.name}: may {code}")
        for name in re.findall(r'\|can:"([^"]+)"', text):
            app, _, verb = name.partition(".")
            module = importlib.import_module(f"saisei.{app}.permissions")
            if not callable(getattr(module, f"can_{verb}", None)):
                unknown.append(f"{path.name}: can {name}")
    assert not unknown
