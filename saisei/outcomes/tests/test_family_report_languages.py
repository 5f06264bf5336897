"""The family outcome report PDF is complete in Japanese and simplified Chinese (issue 15, scope 5).

The report is rendered through the page a physician opens for the family, its text extracted with
pdftotext, and any English word left (other than the measure's code, names and the clinic's
name) fails the test. Its msgids are family-facing in saisei.core.catalogues, so
``scripts/i18n.py --check`` also fails in CI when one has no simplified Chinese.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from saisei.outcomes.tests.test_views import TODAY, _record, course, physician  # noqa: F401

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed"),
]

# Codes and abbreviations printed as they are in every language.
ALLOWED = {"MMSE", "PDF", "CDR", "SB", "MCI", "NIA", "AA"}


def english_left(text: str, *, allowed: set[str]) -> list[str]:
    """Runs of two or more Latin-letter words, or single words of 4+ letters, not allowed."""
    found = []
    for m in re.finditer(r"[A-Za-z][A-Za-z'’-]*(?:\s+[A-Za-z][A-Za-z'’-]*)*", text):
        words = [w for w in m.group(0).split() if w.strip("'’-") not in allowed]
        if len(words) >= 2 or any(len(w) >= 4 for w in words):
            found.append(m.group(0))
    return found


def test_the_detector_finds_english_and_spares_codes() -> None:
    assert english_left("开始 MMSE 22", allowed=ALLOWED) == []
    assert english_left("Range expected without treatment", allowed=ALLOWED)
    assert english_left("分数 Score", allowed=ALLOWED) == ["Score"]


@pytest.mark.parametrize("lang", ["ja", "zh-hans"])
def test_the_family_report_has_no_english_left(
    web_for: Any,
    physician: Any,  # noqa: F811
    course: Any,  # noqa: F811
    tmp_path: Path,
    lang: str,
) -> None:
    patient = course.patient
    _record(physician, patient, "MMSE", {"total": 22}, TODAY - dt.timedelta(days=300))
    _record(physician, patient, "MMSE", {"total": 21}, TODAY - dt.timedelta(days=120))
    _record(physician, patient, "MMSE", {"total": 21}, TODAY)
    res = web_for(physician).get(f"/outcomes/patients/{patient.external_id}/report.pdf?lang={lang}")
    assert res.status_code == 200 and res["Content-Type"] == "application/pdf"
    pdf = tmp_path / f"family-{lang}.pdf"
    pdf.write_bytes(res.content)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    names = set(re.findall(r"[A-Za-z]+", f"{patient.display_name} {patient.patient_code}"))
    names |= set(re.findall(r"[A-Za-z]+", physician.organisation.name))
    assert english_left(text, allowed=ALLOWED | names) == []
