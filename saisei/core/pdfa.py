"""PDF/A-2b renditions of stored PDFs for the handover archive, made and checked, never assumed.

ISO 19005-2 (PDF/A-2) asks an archival PDF to be self-contained: every font embedded, colour
defined by an OutputIntent with an ICC profile, and the file identified as PDF/A in its XMP
metadata (``pdfaid:part`` and ``pdfaid:conformance``). Saisei does not write PDF/A itself
(ReportLab's open-source edition cannot), so a rendition is made from the document as filed with
Ghostscript's pdfwrite device (``-dPDFA=2``, sRGB OutputIntent from the profile Ghostscript
ships) and then checked here: the identification and the OutputIntent are read back from the
file, ``pdffonts`` (poppler-utils) must list every font as embedded, ``pdfinfo`` must count the
original's pages, and Ghostscript must not have reported repairing the original. A rendition that fails
any check, or cannot be made because a tool is missing, is not used: the caller gets the reason
and the document is listed as not converted (decision 0032). This is a structural check, not a
full conformance validation (veraPDF is not bundled).

Text: Ghostscript 10.0's default PDF interpreter can drop the Unicode map of ReportLab's subset
Japanese font, so the rendition looks right but its text cannot be searched. The text of the
rendition (``pdftotext``) is compared with the original's; when it differs, the legacy
interpreter is tried, and if neither keeps the text the rendition is still used with
``text_preserved`` false, since the original travels beside it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Our own prefix: an sRGB OutputIntent whose profile path is passed as -sSaiseiICC=...
_PREFIX = b"""%!
% Saisei: the sRGB OutputIntent a PDF/A file carries; the ICC profile path comes as SaiseiICC.
[/_objdef {saisei_icc} /type /stream /OBJ pdfmark
[{saisei_icc} << /N 3 >> /PUT pdfmark
[{saisei_icc} SaiseiICC (r) file /PUT pdfmark
[/_objdef {saisei_intent} /type /dict /OBJ pdfmark
[{saisei_intent} << /Type /OutputIntent /S /GTS_PDFA1 /DestOutputProfile {saisei_icc}
  /OutputConditionIdentifier (sRGB IEC61966-2.1) /Info (sRGB IEC61966-2.1) >> /PUT pdfmark
[{Catalog} << /OutputIntents [ {saisei_intent} ] >> /PUT pdfmark
"""
TIMEOUT_SECONDS = 120
PART = "2"
CONFORMANCE = "B"
_ID = re.compile(rb"pdfaid:(part|conformance)\s*(?:=\s*['\"]([^'\"]*)['\"]|>\s*([^<\s]*)\s*<)")


@dataclass(frozen=True)
class Rendition:
    """The outcome for one PDF: ``data`` is the checked PDF/A, or None with ``reason``."""

    data: bytes | None
    reason: str = ""
    text_preserved: bool | None = None
    tool: str = ""

    @property
    def ok(self) -> bool:
        return self.data is not None


def _tool(name: str) -> str | None:
    return shutil.which(name)


def icc_profile() -> Path | None:
    """The sRGB profile Ghostscript ships (Debian: /usr/share/ghostscript/<version>/iccprofiles)."""
    for path in sorted(Path("/usr/share/ghostscript").glob("*/iccprofiles/srgb.icc"), reverse=True):
        if path.is_file():
            return path
    return None


def identification(data: bytes) -> tuple[str, str]:
    """The (part, conformance) the file's XMP metadata claims, empty strings where absent."""
    found: dict[bytes, str] = {}
    for key, attr, elem in _ID.findall(data):
        found.setdefault(key, (attr or elem).decode("ascii", "replace"))
    return found.get(b"part", ""), found.get(b"conformance", "")


def _unembedded_fonts(pdffonts: str, path: Path) -> list[str] | None:
    """Fonts ``pdffonts`` lists as not embedded; None when the listing cannot be read."""
    out = subprocess.run(
        [pdffonts, str(path)], capture_output=True, timeout=TIMEOUT_SECONDS, check=False
    )
    if out.returncode != 0:
        return None
    lines = out.stdout.decode("utf-8", "replace").splitlines()
    header = next((i for i, line in enumerate(lines) if line.startswith("name")), None)
    if header is None or header + 1 >= len(lines):
        return None
    emb_at = lines[header].index(" emb ") + 1
    missing = []
    for line in lines[header + 2 :]:
        if line.strip() and line[emb_at : emb_at + 3] != "yes":
            missing.append(line[: emb_at - 1].split("  ")[0].strip() or "?")
    return missing


def _pages(pdfinfo: str, path: Path) -> int | None:
    """The page count ``pdfinfo`` reads; None when it cannot read the file as a PDF."""
    out = subprocess.run(
        [pdfinfo, str(path)], capture_output=True, timeout=TIMEOUT_SECONDS, check=False
    )
    if out.returncode != 0:
        return None
    for line in out.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("Pages:"):
            return int(line.split(":", 1)[1].strip() or 0)
    return None


def _text(pdftotext: str, path: Path) -> str | None:
    out = subprocess.run(
        [pdftotext, "-q", str(path), "-"], capture_output=True, timeout=TIMEOUT_SECONDS, check=False
    )
    if out.returncode != 0:
        return None
    return " ".join(out.stdout.decode("utf-8", "replace").split())


def _check(data: bytes, path: Path, pdffonts: str) -> str:
    """Why ``data`` is not an acceptable PDF/A-2b rendition; empty when it is."""
    if data[:5] != b"%PDF-":
        return "the converter wrote no PDF"
    part, conformance = identification(data)
    if (part, conformance.upper()) != (PART, CONFORMANCE):
        return f"no PDF/A-{PART}{CONFORMANCE.lower()} identification in the XMP metadata"
    if b"/GTS_PDFA1" not in data or b"/OutputIntents" not in data:
        return "no PDF/A OutputIntent"
    missing = _unembedded_fonts(pdffonts, path)
    if missing is None:
        return "the fonts of the rendition could not be listed"
    if missing:
        return "fonts not embedded: " + ", ".join(sorted(set(missing)))
    return ""


def _gs_args(
    gs: str, icc: Path, source: Path, target: Path, prefix: Path, legacy: bool
) -> list[str]:
    return [
        gs,
        "-q",
        "-dBATCH",
        "-dNOPAUSE",
        "-dNOOUTERSAVE",
        "-dSAFER",
        *(["-dNEWPDF=false"] if legacy else []),
        f"-dPDFA={PART}",
        # 1: when the source uses something PDF/A forbids, drop it and carry on (the checks below
        # still decide whether the result is used).
        "-dPDFACompatibilityPolicy=1",
        "-sColorConversionStrategy=RGB",
        "-sDEVICE=pdfwrite",
        f"-sSaiseiICC={icc}",
        f"--permit-file-read={icc}",
        f"-sOutputFile={target}",
        str(prefix),
        str(source),
    ]


def pdfa_rendition(data: bytes) -> Rendition:
    """Make and check a PDF/A-2b rendition of the PDF ``data``; never raises for a bad input."""
    if data[:5] != b"%PDF-":
        return Rendition(None, "not a PDF")
    gs, pdftotext = _tool("gs"), _tool("pdftotext")
    pdffonts, pdfinfo = _tool("pdffonts"), _tool("pdfinfo")
    if gs is None:
        return Rendition(None, "Ghostscript (gs) is not installed")
    if pdffonts is None or pdfinfo is None:
        return Rendition(None, "poppler-utils (pdffonts, pdfinfo) is not installed to check it")
    icc = icc_profile()
    if icc is None:
        return Rendition(None, "Ghostscript's sRGB ICC profile was not found")
    best: Rendition | None = None
    last_reason = ""
    with tempfile.TemporaryDirectory(prefix="saisei-pdfa-") as tmp:
        base = Path(tmp)
        source, prefix = base / "source.pdf", base / "prefix.ps"
        source.write_bytes(data)
        prefix.write_bytes(_PREFIX)
        pages = _pages(pdfinfo, source)
        if not pages:
            return Rendition(None, "the original cannot be read as a PDF")
        original_text = _text(pdftotext, source) if pdftotext else None
        for legacy in (False, True):
            target = base / f"pdfa-{int(legacy)}.pdf"
            try:
                run = subprocess.run(
                    _gs_args(gs, icc, source, target, prefix, legacy),
                    capture_output=True,
                    timeout=TIMEOUT_SECONDS,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                last_reason = "the conversion took too long"
                continue
            if run.returncode != 0 or not target.is_file():
                last_reason = (
                    "Ghostscript refused the document: "
                    + (
                        run.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
                    )[-1][:200]
                )
                continue
            out = target.read_bytes()
            messages = run.stderr.decode("utf-8", "replace") + run.stdout.decode("utf-8", "replace")
            reason = _check(out, target, pdffonts)
            if "**** Error" in messages:
                # Ghostscript repaired or skipped part of the source: the rendition may not show
                # what the original shows.
                reason = "Ghostscript reported errors in the original and repaired or skipped them"
            elif _pages(pdfinfo, target) != pages:
                reason = "the rendition does not have the original's pages"
            if reason:
                last_reason = reason
                continue
            preserved = None
            if pdftotext and original_text is not None:
                preserved = _text(pdftotext, target) == original_text
            tool = f"Ghostscript {'legacy ' if legacy else ''}pdfwrite, PDF/A-{PART}b"
            candidate = Rendition(out, "", preserved, tool)
            if preserved is not False:
                return candidate
            best = best or candidate
    return best or Rendition(None, last_reason or "the conversion failed")
