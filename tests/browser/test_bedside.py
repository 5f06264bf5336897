"""A nurse and a physician give a scan-verified infusion on a tablet-sized screen.

The nurse scans wristband and bag (the scanner's Enter moves between fields), every check is
shown, the physician confirms as second person with their own password, and the infusion record
is completed with vital signs; the physician then finds it, signed by them, on their own login.
"""

from __future__ import annotations

from django.utils import timezone

from saisei.core.tests.factories import TEST_PASSWORD, OrganisationFactory
from saisei.processing.models import NearMiss
from saisei.treatment.models import Administration
from saisei.treatment.rules import BEDSIDE_RULES
from saisei.treatment.tests.factories import make_world
from tests.browser.conftest import screenshot, sign_in


def _world():
    world = make_world(OrganisationFactory(slug="bedside-clinic", name="Bedside Clinic"))
    step = world.steps[0]
    step.planned_date = timezone.localdate()
    step.save()
    for user, name in ((world.nurse, "Nurse Yui"), (world.physician_user, "Dr. Sato")):
        user.display_name = name
        user.save()
    return world


def test_nurse_and_physician_give_a_verified_infusion_on_a_tablet(tablet_page):
    page = tablet_page
    world = _world()
    other = make_world(world.org, base=world)

    sign_in(page, world.nurse.username, TEST_PASSWORD)
    page.wait_for_selector("h1")
    page.goto(f"{page.base_url}/treatment/")
    assert world.patient.patient_code in page.inner_text("main")
    page.click("text=Start bedside check")
    page.wait_for_selector("#id_patient_scan")
    # The wristband field has the focus, so the first scan lands there.
    assert page.evaluate("document.activeElement.name") == "patient_scan"

    # A wrong bag first: refused, shown as STOP, recorded as a near-miss.
    page.keyboard.type(world.wristband)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.name") == "product_scan"
    page.keyboard.type(other.labels[0])
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=verdict]")
    assert "STOP" in page.inner_text("[data-testid=verdict]")
    assert page.locator(".checks li.fail[data-code=same_patient]").count() == 1
    assert NearMiss.objects.filter(patient=world.patient).count() == 1

    # The right bag: every check passes.
    page.click("#id_patient_scan")
    page.keyboard.type(world.wristband)
    page.keyboard.press("Enter")
    page.keyboard.type(world.labels[0])
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=confirm]")
    assert "All checks passed" in page.inner_text("[data-testid=verdict]")
    assert page.locator(".checks li.pass").count() == len(BEDSIDE_RULES)
    box = page.locator("[data-testid=confirm]").bounding_box()
    assert box is not None and box["height"] >= 48  # a finger-sized target
    screenshot(page, "bedside-verified-tablet")

    # Two-person check: the physician types their own password on the nurse's tablet.
    page.select_option("#id_second_person", str(world.physician_user.pk))
    page.fill("#id_second_person_password", TEST_PASSWORD)
    page.fill("#id_rate_ml_per_hour", "100")
    page.fill("#id_systolic_mmhg", "128")
    page.fill("#id_heart_rate_bpm", "72")
    page.fill("#id_temperature_c", "36.6")
    page.fill("#id_spo2_pct", "98")
    page.click("[data-testid=confirm]")
    page.wait_for_selector("text=Infusion record")
    assert "In progress" in page.inner_text("h1")

    page.select_option("#id_phase", "during")
    page.fill("#id_heart_rate_bpm", "76")
    page.fill("#id_spo2_pct", "97")
    page.click("[data-testid=add-vitals]")
    page.wait_for_selector("[data-testid=complete]")
    page.fill("#id_observations", "Well tolerated; mild flushing resolved.")
    page.click("[data-testid=complete]")
    page.wait_for_selector("h1 .status.ok")
    screenshot(page, "infusion-record-tablet")
    page.click(".usermenu summary")
    page.click("text=Sign out")

    administration = Administration.objects.get(dose=world.doses[0])
    assert administration.status == "completed"
    assert administration.nurse == world.nurse
    assert administration.second_person == world.physician_user
    assert administration.vitals.count() == 2

    # The physician sees the infusion given on today's list, with their second-person check.
    sign_in(page, world.physician_user.username, TEST_PASSWORD)
    page.wait_for_selector("h1")
    page.goto(f"{page.base_url}/treatment/")
    page.click("text=Open record")
    page.wait_for_selector("text=Second-person check")
    assert "Dr. Sato" in page.inner_text("main")
    assert "Completed" in page.inner_text("h1")
