"""Every official form renders for the demo's Alzheimer plan with nothing missing, and the demo's
Parkinson's plan (still in committee review) shows the missing-items flagging (issue 16)."""

from __future__ import annotations

import io

import pytest
from django.test import Client

from saisei.core.demo import load_demo
from saisei.core.models import User
from saisei.regulatory import services
from saisei.regulatory.demo import ALZ_TITLE, PD_TITLE
from saisei.regulatory.filings import form_preview
from saisei.regulatory.filings_views import _subjects
from saisei.regulatory.models import FiledDocument

pytestmark = pytest.mark.django_db


def test_every_form_for_the_alzheimer_plan_and_the_flagged_demo_case():
    load_demo(stdout=io.StringIO())
    officer = User.objects.get(username="compliance_officer")
    from saisei.safety.models import AdverseEvent

    subjects = _subjects(officer)
    event = AdverseEvent.objects.get()
    subjects["ae_committee"] = subjects["ae_minister"] = [(str(event.external_id), event.term)]
    alz_only = {"plan", "change", "minor_change", "periodic"}
    generated = set()
    for code, rows in subjects.items():
        for subject, label in rows:
            if code in alz_only and ALZ_TITLE not in label:
                continue
            content = form_preview(actor=officer, form_code=code, subject_id=subject)
            assert not content.missing(), (code, label, [i.label for i in content.missing()])
            doc = services.filed_document_generate(
                actor=officer, form_code=code, subject_id=subject
            )
            assert bytes(doc.pdf).startswith(b"%PDF")
            generated.add(code)
    assert generated == {
        "plan",
        "ae_committee",
        "ae_minister",
        "periodic",
        "change",
        "minor_change",
        "discontinuation",
        "cpc_yearly",
    }
    # The flagged case: the Parkinson's plan lists its empty items and refuses to generate.
    pd = next(s for s, label in subjects["plan"] if PD_TITLE in label)
    web = Client()
    web.force_login(officer)
    before = FiledDocument.objects.count()
    page = web.get(f"/regulatory/forms/plan/{pd}/")
    assert page.status_code == 200 and "実施責任者" in page.content.decode()
    assert web.post(f"/regulatory/forms/plan/{pd}/").status_code == 422
    assert FiledDocument.objects.count() == before
    # The Alzheimer lot's batch record shows the 標準書 it was made under.
    from saisei.processing.models import Lot

    lot = Lot.objects.filter(donation__plan__title=ALZ_TITLE).first()
    assert lot is not None
    assert lot.document_versions.filter(kind="standard", document_number="STD-ALZ-001").exists()
