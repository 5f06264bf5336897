"""Browser test of the facilitator network (issue 17 acceptance): a family sends one inquiry to a
facilitator in Chinese, consents to two clinics (with the transfer-abroad information), both
clinics answer with quotes, the family compares them in the portal and accepts one; each clinic
saw only what was shared with it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def _setup() -> dict[str, Any]:
    from saisei.core.tests.factories import TEST_PASSWORD, OrganisationFactory, UserFactory
    from saisei.network import services
    from saisei.network.tests.conftest import make_clinic

    today = timezone.localdate()
    fac = OrganisationFactory(slug="bridge", name="Bridge Care", kind="facilitator", country="SG")
    admin = UserFactory(organisation=fac, roles=["org_admin"])
    coord = UserFactory(organisation=fac, username="chen", roles=["coordinator"])
    a = make_clinic("clinic-a", "Clinic A", "PB3260001", 35)
    b = make_clinic("clinic-b", "Clinic B", "PB3260002", 21)
    for clinic, pct, docs in ((a, "10", True), (b, "12", False)):
        services.agreement_create(
            actor=admin,
            clinic=clinic["org"],
            reference=f"AG-{clinic['org'].slug}",
            commission_kind="percent",
            commission_percent=Decimal(pct),
            commission_payer="patient",
            shareable_fields=["patient_date_of_birth", "diagnosis", "cognitive_scores"],
            documents_shareable=docs,
            recipient_measures="Access limited to the clinic's coordinators and physicians.",
            valid_from=today - dt.timedelta(days=5),
            valid_until=today + dt.timedelta(days=365),
        )
    return {"coord": coord, "a": a, "b": b, "password": TEST_PASSWORD}


def test_family_compares_two_clinics_in_chinese_and_accepts_one(
    page: Any, browser: Any, settings: Any
) -> None:
    from saisei.journey import services as journey_services
    from saisei.journey.models import Inquiry
    from saisei.network import selectors, services
    from saisei.network.models import ReferralConsent, Share

    settings.JOURNEY_INQUIRY_MIN_FILL_SECONDS = 0
    settings.SAISEI_BASE_URL = page.base_url
    ctx = _setup()
    base = page.base_url
    page.set_default_timeout(60000)  # a loaded shared machine; the first page compiles templates

    # 1. The family writes to the facilitator's public inquiry page, in Chinese.
    page.goto(f"{base}/journey/inquiry/bridge/?lang=zh-hans")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.fill("#id_contact_name", "王 芳")
    page.fill("#id_contact_email", "fang@example.test")
    page.fill("#id_patient_family_name", "王")
    page.fill("#id_patient_given_name", "伟")
    page.fill("#id_patient_date_of_birth", "1950-03-01")
    page.fill("#id_country", "中国")
    page.fill("#id_diagnosis", "阿尔茨海默病")
    page.fill("#id_cognitive_scores", "MMSE 21")
    page.fill("#id_current_medicines", "Donepezil")
    page.check("#id_privacy_consent")
    page.click("main button[type=submit]")
    page.wait_for_selector("#reference")
    inquiry = Inquiry.objects.get(reference=page.inner_text("#reference"))
    assert inquiry.organisation.slug == "bridge" and inquiry.language == "zh-hans"

    # 2. The facilitator registers the family and opens a referral; the family gets a link.
    coord = ctx["coord"]
    patient = journey_services.patient_enrol(
        actor=coord,
        family_name="王",
        given_name="伟",
        date_of_birth=dt.date(1950, 3, 1),
        sex="male",
        language="zh-hans",
        inquiry=inquiry,
        email="fang@example.test",
    )
    referral = services.referral_open(
        actor=coord, inquiry=inquiry, family_country="CN", patient=patient
    )
    _access, token = journey_services.portal_link_issue(actor=coord, patient=patient, send=False)

    # 3. In the portal (Chinese) the family consents clinic by clinic, transfer abroad included.
    family = browser.new_context(locale="zh-CN").new_page()
    family.set_default_timeout(60000)
    family.goto(f"{base}/journey/portal/enter/{token}/")
    family.click("#open-portal")
    family.goto(f"{base}/network/portal/")
    assert family.locator("html").get_attribute("lang") == "zh-hans"
    assert "日本" in family.inner_text("#partner-clinic-a")  # the recipient's country, told
    for slug, fields in (
        ("clinic-a", ("patient_date_of_birth", "diagnosis")),
        ("clinic-b", ("patient_date_of_birth", "cognitive_scores")),
    ):
        card = family.locator(f"#partner-{slug}")
        for box in card.locator("input[name=fields]").all():
            if box.get_attribute("value") not in fields:
                box.uncheck()
        card.locator("input[name=agree_transfer]").check()
        card.locator("input[name=given_by_name]").fill("王 芳")
        card.locator("input[name=agree]").check()
        card.locator("button[type=submit]").click()
        family.wait_for_selector(f"#partner-{slug} .status.ok")
    screenshot(family, "network-portal-consent-zh")
    assert ReferralConsent.objects.filter(referral=referral, cross_border=True).count() == 2

    # 4. The facilitator shares exactly what was consented to.
    for c in referral.consents.all():
        services.share_create(actor=coord, referral=referral, consent=c)

    # 5. Clinic A sees only its share and answers with its quote from its page.
    share_a = Share.objects.get(clinic=ctx["a"]["org"])
    share_b = Share.objects.get(clinic=ctx["b"]["org"])
    sign_in(page, "clinic-a-coord", ctx["password"])
    page.goto(f"{base}/journey/inquiries/")
    assert "Bridge Care" in page.inner_text("#referrals")
    page.goto(f"{base}/network/received/{share_a.external_id}/")
    shared = page.inner_text("#shared")
    assert "阿尔茨海默病" in shared and "MMSE 21" not in shared and "王 伟" not in shared
    page.click("#send-quote")
    page.wait_for_selector("#share-status")
    assert page.goto(f"{base}/network/received/{share_b.external_id}/").status == 404
    # Clinic B answers too (through the same service its page calls).
    services.share_quote(
        actor=ctx["b"]["staff"],
        share=share_b,
        package=ctx["b"]["package"],
        price_list=ctx["b"]["price_list"],
    )
    seen_b = selectors.shared_record(share_b)
    assert [r["field"] for r in seen_b["fields"]] == ["patient_date_of_birth", "cognitive_scores"]

    # 6. The family compares the two quotes side by side and accepts clinic B's.
    family.goto(f"{base}/network/portal/compare/")
    assert family.locator("th.clinic-col").count() == 2
    assert family.locator("tr.commission-row").count() == 1
    screenshot(family, "network-portal-compare-zh")
    card = family.locator("#accept-clinic-b")
    card.locator("input[name=accepted_by_name]").fill("王 芳")
    card.locator("input[name=agree]").check()
    card.locator("button[type=submit]").click()
    family.wait_for_selector("#accepted-msg")
    share_a.refresh_from_db()
    share_b.refresh_from_db()
    assert share_b.status == "accepted" and share_b.quote.status == "accepted"
    assert share_a.status == "closed" and share_a.closed_reason
