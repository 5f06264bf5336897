"""The network pages and API: portal consent and comparison in Chinese, facilitator sharing,
the clinic's view of only what was shared, revocation, the commissions CSV."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from saisei.conftest import ApiClient
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.journey import services as journey_services
from saisei.network.models import ReferralConsent, Share

from .conftest import quote, share

pytestmark = pytest.mark.django_db


def _portal(net: dict[str, Any]) -> Client:
    _access, token = journey_services.portal_link_issue(
        actor=net["coord"], patient=net["patient"], send=False
    )
    client = Client()
    client.post(f"/journey/portal/enter/{token}/")
    return client


def _staff(user: Any) -> Client:
    c = Client()
    assert c.login(username=user.username, password=TEST_PASSWORD)
    return c


def test_family_consents_per_clinic_in_chinese_and_sees_what_was_shared(
    net: dict[str, Any],
) -> None:
    family = _portal(net)
    page = family.get("/network/portal/")
    html = page.content.decode()
    assert page.status_code == 200 and "Clinic A" in html and "Clinic B" in html
    assert "日本" in html  # the recipient country, in the family's language
    ag = net["agreements"]["a"]
    # Without the transfer box: refused, nothing recorded.
    res = family.post(
        "/network/portal/",
        {
            "agreement": ag.external_id,
            "fields": ["diagnosis"],
            "given_by_name": "王 芳",
            "agree": "1",
        },
    )
    assert res.status_code == 400 and not ReferralConsent.objects.exists()
    res = family.post(
        "/network/portal/",
        {
            "agreement": ag.external_id,
            "fields": ["diagnosis", "patient_date_of_birth"],
            "files": [str(net["file"].external_id)],
            "given_by_name": "王 芳",
            "agree": "1",
            "agree_transfer": "1",
        },
    )
    assert res.status_code == 302
    c = ReferralConsent.objects.get()
    assert c.cross_border and c.language == "zh-hans" and c.via == "portal"
    # The facilitator shares it; the family's page lists what went to whom.
    fac = _staff(net["coord"])
    res = fac.post(f"/network/referrals/{net['referral'].external_id}/share/{c.external_id}/")
    assert res.status_code == 302 and Share.objects.count() == 1
    html = family.get("/network/portal/").content.decode()
    assert "mri.pdf" in html and "Clinic A" in html


def test_clinic_pages_show_only_the_shared_fields_and_end_on_revocation(
    net: dict[str, Any],
) -> None:
    s = share(net, "a", fields=["patient_date_of_birth", "diagnosis"], files=True)
    clinic = _staff(net["a"]["staff"])
    queue = clinic.get("/journey/inquiries/").content.decode()
    assert "R20" in queue and "Bridge Care" in queue  # marked with its facilitator
    html = clinic.get(f"/network/received/{s.external_id}/").content.decode()
    assert "阿尔茨海默病" in html and "王 伟" not in html and "Donepezil" not in html
    assert (
        clinic.get(
            f"/network/received/{s.external_id}/files/{net['file'].external_id}/"
        ).status_code
        == 200
    )
    other = _staff(net["b"]["staff"])
    assert other.get(f"/network/received/{s.external_id}/").status_code == 404
    fac = _staff(net["coord"])
    fac.post(f"/network/shares/{s.external_id}/revoke/", {"reason": "Family asked"})
    assert clinic.get(f"/network/received/{s.external_id}/").status_code == 404
    assert (
        clinic.get(
            f"/network/received/{s.external_id}/files/{net['file'].external_id}/"
        ).status_code
        == 404
    )
    api = ApiClient(net["a"]["staff"])
    assert api.get(f"/network/received/{s.external_id}").status_code == 404
    assert api.get("/network/received").json() == []


def test_compare_in_chinese_accept_and_commissions_csv(net: dict[str, Any]) -> None:
    sa = quote(net, "a", share(net, "a"))
    quote(net, "b", share(net, "b"))
    family = _portal(net)
    html = family.get("/network/portal/compare/").content.decode()
    assert html.count('class="clinic-col"') == 2
    assert "PB3260001" in html and "PB3260002" in html
    assert "commission-row" in html
    res = family.post(
        "/network/portal/compare/",
        {"share": sa.external_id, "accepted_by_name": "王 芳", "agree": "1"},
    )
    assert res.status_code == 302
    sa.refresh_from_db()
    assert sa.status == "accepted"
    fac = _staff(net["coord"])
    assert "Clinic A" in fac.get("/network/").content.decode()
    csv = fac.get("/network/commissions.csv").content.decode()
    assert csv.splitlines()[0].startswith("accepted_on,referral,clinic")
    assert "Clinic A" in csv
    api = ApiClient(net["coord"])
    rows = api.get(f"/network/referrals/{net['referral'].external_id}/comparison").json()
    assert {r["clinic"] for r in rows} == {"Clinic A", "Clinic B"}
    assert all(r["commission_jpy"] >= 0 for r in rows)


def test_clinic_answers_through_the_api(net: dict[str, Any]) -> None:
    s = share(net, "a")
    api = ApiClient(net["a"]["staff"])
    res = api.post(
        f"/network/received/{s.external_id}/quote",
        {
            "package": str(net["a"]["package"].external_id),
            "price_list": str(net["a"]["price_list"].external_id),
        },
    )
    assert res.status_code == 200, res.content
    assert res.json()["status"] == "quoted"
    s2 = share(net, "b")
    plan = net["b"]["plan"]
    plan.status = "suspended"
    plan.save()
    res = ApiClient(net["b"]["staff"]).post(
        f"/network/received/{s2.external_id}/quote",
        {
            "package": str(net["b"]["package"].external_id),
            "price_list": str(net["b"]["price_list"].external_id),
        },
    )
    assert res.status_code == 409 and res.json()["error"]["code"] == "plan_not_in_force"


def test_pages_keep_a_constant_number_of_queries(
    net: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    quote(net, "a", share(net, "a"))
    quote(net, "b", share(net, "b"))
    fac = _staff(net["coord"])
    with django_assert_max_num_queries(40):
        assert fac.get(f"/network/referrals/{net['referral'].external_id}/").status_code == 200


def test_the_facilitator_inquiry_page_tells_per_clinic_and_transfer_consent(
    net: dict[str, Any],
) -> None:
    page = Client().get("/journey/inquiry/bridge/?lang=zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="partner-consent"' in html
    assert "Clinic A" in html and "Clinic B" in html
    # A clinic's own inquiry page has no partners to tell about.
    assert 'id="partner-consent"' not in Client().get("/journey/inquiry/clinic-a/").content.decode()
