"""The handover archive carries a checked PDF/A-2b rendition beside every stored PDF, keeps the
original byte for byte, and never claims a rendition it could not make or check."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from reportlab.platypus import Paragraph

from saisei.core import pdfa
from saisei.core.archive import archive_verify, archive_write
from saisei.core.pdf import build_a4_pdf, escape, paragraph_styles

pytestmark = pytest.mark.django_db

needs_tools = pytest.mark.skipif(
    not (shutil.which("gs") and shutil.which("pdffonts") and pdfa.icc_profile()),
    reason="Ghostscript and poppler-utils are needed to make and check PDF/A",
)


def _pdf() -> bytes:
    styles = paragraph_styles()
    return build_a4_pdf(
        story=[Paragraph(escape("説明同意文書 — 再生医療等提供計画 v1.0"), styles["body"])],
        title="同意文書",
    )


def _consent_document(org: Any, data: bytes, name: str = "consent.pdf") -> Any:
    from saisei.journey.tests.factories import ConsentDocumentFactory
    from saisei.regulatory.tests.factories import VersionFactory

    doc: Any = ConsentDocumentFactory(plan_version=VersionFactory(plan__organisation=org))
    doc.file.save(name, ContentFile(data), save=True)
    return doc


def _manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        return dict(json.loads(zf.read("manifest.json")))


@needs_tools
def test_a_stored_pdf_gets_a_checked_pdfa_rendition_beside_the_unchanged_original(
    org: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    original = _pdf()
    _consent_document(org, original)
    path = tmp_path / "a.zip"
    archive_write(organisation=org, path=path)
    [doc] = [d for d in _manifest(path)["documents"] if d["record"] == "journey.ConsentDocument"]
    assert doc["pdfa"] is True, doc
    assert doc["pdfa_conformance"] == "PDF/A-2b"
    with zipfile.ZipFile(path) as zf:
        assert zf.read(doc["file"]) == original  # the document as filed, byte for byte
        rendition = zf.read(doc["pdfa_file"])
    assert pdfa.identification(rendition) == ("2", "B")
    assert b"/GTS_PDFA1" in rendition and b"/OutputIntents" in rendition
    out = tmp_path / "r.pdf"
    out.write_bytes(rendition)
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.splitlines()[2:]
    assert rows and all(" yes " in row for row in rows), fonts.stdout
    assert archive_verify(path) == []


@needs_tools
def test_verify_detects_a_changed_rendition_and_a_changed_original(
    org: Any, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    _consent_document(org, _pdf())
    path = tmp_path / "a.zip"
    manifest = archive_write(organisation=org, path=path)
    [doc] = manifest["documents"]
    for target in (doc["pdfa_file"], doc["file"]):
        changed = tmp_path / "changed.zip"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(changed, "w") as dst:
            for name in src.namelist():
                data = src.read(name)
                dst.writestr(name, data + b"\n%" if name == target else data)
        assert f"changed: {target}" in archive_verify(changed)


def test_a_conversion_that_cannot_be_made_is_listed_with_its_reason_never_claimed(
    org: Any, settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(pdfa, "_tool", lambda name: None)
    _consent_document(org, _pdf())
    path = tmp_path / "a.zip"
    archive_write(organisation=org, path=path)
    [doc] = _manifest(path)["documents"]
    assert doc["pdfa"] is False
    assert "Ghostscript" in doc["pdfa_reason"]
    assert "pdfa_file" not in doc
    with zipfile.ZipFile(path) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".pdfa.pdf")]
    assert archive_verify(path) == []


@needs_tools
def test_a_broken_pdf_is_not_claimed_as_pdfa(tmp_path: Path) -> None:
    result = pdfa.pdfa_rendition(b"%PDF-1.4\nnot really a pdf\n%%EOF\n")
    assert not result.ok and result.reason


@needs_tools
def test_a_rendition_that_lacks_the_identification_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A converter whose output claims another part (or none) than PDF/A-2b is not trusted.
    monkeypatch.setattr(pdfa, "identification", lambda data: ("1", "B"))
    result = pdfa.pdfa_rendition(_pdf())
    assert not result.ok
    assert "identification" in result.reason


def test_a_non_pdf_document_is_listed_as_not_a_pdf(org: Any, settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    _consent_document(org, b"plain text", name="consent.txt")
    path = tmp_path / "a.zip"
    archive_write(organisation=org, path=path)
    [doc] = _manifest(path)["documents"]
    assert (doc["pdf"], doc["pdfa"], doc["pdfa_reason"]) == (False, False, "not a PDF")
