"""Browser test of the journey: a family's inquiry (in Japanese) becomes an accepted quote, a
signed consent and a scheduled treatment course (issue 5 acceptance)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _setup() -> dict[str, Any]:
    """An in-force Alzheimer plan with its package, prices and Japanese consent document."""
    from saisei.core.tests.factories import TEST_PASSWORD, OrganisationFactory, UserFactory
    from saisei.journey import services
    from saisei.regulatory.tests.factories import (
        CommitteeFactory,
        FacilityFactory,
        InstitutionFactory,
        PhysicianFactory,
        PlanFactory,
        VersionFactory,
    )

    today = timezone.localdate()
    org = OrganisationFactory(slug="sakura", name="Sakura Clinic")
    staff = UserFactory(organisation=org, username="kenji", roles=["coordinator", "physician"])
    institution = InstitutionFactory(organisation=org, name="Sakura Clinic Tokyo")
    doctor = PhysicianFactory(
        organisation=org, user=staff, name="Dr. Kenji Sato", institution=institution
    )
    plan = PlanFactory(
        organisation=org, institution=institution, plan_number="PB3260042", status="in_force"
    )
    version = VersionFactory(
        plan=plan,
        organisation=org,
        number=1,
        state="in_force",
        in_force_from=today - dt.timedelta(days=300),
        committee=CommitteeFactory(organisation=org),
    )
    version.physicians.add(doctor)
    version.facilities.add(FacilityFactory(organisation=org, facility_number="FC3260042"))
    services.package_create(
        actor=staff,
        plan=plan,
        code="ALZ-4",
        name="Four infusions",
        infusions=4,
        interval_days=28,
        culture_days=35,
        dose_cells=100_000_000,
    )
    services.price_list_create(
        actor=staff,
        institution=institution,
        name="2026",
        valid_from=today - dt.timedelta(days=10),
        valid_until=today + dt.timedelta(days=300),
        prices={
            "consultation": 30_000,
            "tests": 50_000,
            "harvest": 300_000,
            "culture_processing": 1_200_000,
            "infusion": 800_000,
            "follow_up": 20_000,
        },
    )
    services.consent_document_create(
        actor=staff,
        plan_version=version,
        language="ja",
        version="1.0",
        title="説明同意文書",
        body="治療の内容、期待できること・できないこと、危険性について説明します。",
        effective_from=today - dt.timedelta(days=30),
    )
    return {"org": org, "staff": staff, "password": TEST_PASSWORD, "plan": plan}


def test_inquiry_to_accepted_quote_signed_consent_and_scheduled_course(
    page: Any, browser: Any, settings: Any
) -> None:
    from saisei.journey.models import Consent, Inquiry, Quote, TreatmentCourse

    settings.JOURNEY_INQUIRY_MIN_FILL_SECONDS = 0
    settings.SAISEI_BASE_URL = page.base_url
    ctx = _setup()
    base = page.base_url

    # 1. The family fills in the public inquiry in Japanese; a wrong file keeps their answers.
    page.goto(f"{base}/journey/inquiry/sakura/?lang=ja")
    assert page.locator("html").get_attribute("lang") == "ja"
    page.fill("#id_contact_name", "山田 太郎")
    page.fill("#id_contact_email", "taro@example.test")
    page.fill("#id_contact_relationship", "長男")
    page.fill("#id_patient_family_name", "Yamada")
    page.fill("#id_patient_given_name", "Hanako")
    page.fill("#id_patient_name_native", "山田 花子")
    page.fill("#id_patient_name_reading", "やまだ はなこ")
    page.fill("#id_country", "日本")
    page.fill("#id_diagnosis", "アルツハイマー病")
    page.fill("#id_cognitive_scores", "MMSE 22（2026年5月）")
    page.fill("#id_travel_windows", "3月〜6月")
    page.check("#id_privacy_consent")
    page.set_input_files(
        "#id_records",
        files=[
            {"name": "scan.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"}
        ],
    )
    page.click("main button[type=submit]")
    page.wait_for_selector(".error")
    assert "scan.exe" in page.content()
    assert page.input_value("#id_cognitive_scores") == "MMSE 22（2026年5月）"
    assert not Inquiry.objects.exists()
    page.set_input_files(
        "#id_records", files=[{"name": "mri.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.click("main button[type=submit]")
    page.wait_for_selector("#reference")
    reference = page.inner_text("#reference")
    inquiry = Inquiry.objects.get(reference=reference)
    assert inquiry.language == "ja" and inquiry.files.count() == 1
    screenshot(page, "journey-inquiry-thanks-ja")

    # 2. The coordinator works the inquiry and creates the patient record.
    sign_in(page, "kenji", ctx["password"])
    page.goto(f"{base}/journey/inquiries/")
    page.click(f"text={reference}")
    page.click("text=Create patient record")
    # The name parts come over as the family typed them; the currency from the country.
    assert page.input_value("#id_family_name") == "Yamada"
    assert page.input_value("#id_given_name") == "Hanako"
    assert page.input_value("#id_name_reading") == "やまだ はなこ"
    assert page.input_value("#id_currency") == "JPY"
    page.fill("#id_date_of_birth", "1951-04-02")
    page.select_option("#id_sex", "female")
    page.fill("#id_weight_kg", "52")
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Timeline")
    patient_url = page.url

    # 3. Pre-screening, then the physician decides and signs.
    page.click("text=Pre-screen")
    page.select_option("#id_plan", label=str(ctx["plan"]))
    page.select_option("#id_diagnosis_confirmed", "yes")
    page.select_option("#id_diagnosis_basis", "amyloid_pet")
    page.fill("#id_mmse", "22")
    page.select_option("#id_can_consent", "yes")
    page.fill("#id_age", "75")
    for code in (
        "active_malignancy",
        "active_infection",
        "anticoagulation_cannot_pause",
        "pregnancy",
        "severe_cardiopulmonary_disease",
    ):
        page.select_option(f"#id_ci_{code}", "no")
    for code in ("hbv", "hcv", "hiv", "syphilis", "htlv1"):
        page.select_option(f"#id_test_{code}", "negative")
    page.click("main button[type=submit]")
    page.click("text=Decide and sign")
    page.select_option("#id_decision", "eligible")
    page.fill("#id_password", ctx["password"])
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Timeline")

    # 4. Quote: built, issued with the commission line and refund rules.
    page.click("text=Build quote")
    page.select_option("#id_plan", label=str(ctx["plan"]))
    page.select_option("#id_price_list", index=1)
    page.fill("#id_interpreter_days", "4")
    page.fill("#id_commission_percent", "10")
    page.fill("#id_currency", "USD")
    page.fill("#id_fx_jpy_per_unit", "150")
    page.fill("#id_fx_source", "MUFG TTM")
    page.select_option("#id_language", "ja")
    page.click("main button[type=submit]")
    page.click("text=Issue quote to the family")
    page.wait_for_selector("#commission-line")
    assert page.locator("#refunds tbody tr").count() == 3 + 4
    quote = Quote.objects.get()
    assert quote.status == "issued"

    # 5. The family opens the portal from the e-mailed one-time link and accepts, in Japanese.
    page.goto(patient_url)
    page.click("text=Send portal link")
    page.wait_for_selector(".msg")
    link = re.search(r"https?://\S+/journey/portal/enter/\S+/", mail.outbox[-1].body).group(0)
    family = browser.new_context(locale="ja-JP").new_page()
    family.goto(link)
    family.click("#open-portal")
    family.wait_for_selector("h1")
    family.click(f"text={quote.number} v{quote.version}")
    assert family.locator("html").get_attribute("lang") == "ja"
    family.fill("#id_accepted_by_name", "山田 太郎")
    family.check("#id_agree")
    family.click("main button[type=submit]")
    family.wait_for_selector(".msg")
    screenshot(family, "journey-portal-quote-accepted-ja")
    quote.refresh_from_db()
    assert quote.status == "accepted" and quote.acceptance_evidence["via"] == "portal"
    family.context.close()

    # 6. The physician explains and takes consent with an electronic signature.
    page.goto(patient_url)
    page.click("text=Take consent")
    page.select_option("#id_given_by", "patient")
    page.fill("#id_signer_name", "山田 花子")
    page.check("#id_signer_confirms")
    page.fill("#id_password", ctx["password"])
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Timeline")
    assert Consent.objects.filter(signer_name="山田 花子").exists()

    # 7. Itinerary, then a course from the plan's package, checked by the compliance gate.
    page.click("text=Itinerary")
    start = timezone.localdate() + dt.timedelta(days=30)
    page.fill("#id_earliest_arrival", start.isoformat())
    page.fill("#id_latest_return", (start + dt.timedelta(days=240)).isoformat())
    page.click("main button[type=submit]")
    page.wait_for_selector("text=Why these dates")
    page.goto(patient_url)
    page.click("text=Start treatment course")
    page.select_option("#id_package", index=1)
    page.select_option("#id_facility", index=1)  # the CPC the gate checks against the plan
    page.click("main button[type=submit]")
    page.wait_for_selector("#course-status")
    screenshot(page, "journey-course-scheduled")
    course = TreatmentCourse.objects.get()
    assert course.status == "scheduled", [
        s.gate_result for s in course.steps.filter(status="blocked")
    ]
    assert course.steps.filter(kind="infusion").count() == 4
