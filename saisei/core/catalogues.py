"""Where each translatable string lives: one gettext catalogue per app, and the family-facing set.

Rule (docs/decisions/0012-per-app-gettext-catalogues.md):

- a file inside an app package (``saisei/<app>/...``) belongs to ``saisei/<app>/locale``;
- a project template under ``saisei/templates/<app>/...`` belongs to that app's catalogue;
- everything else (``saisei/templates/base.html``, ``saisei/templates/includes/``, the project's
  own modules such as ``settings.py``) is the shell and belongs to ``core``.

Django finds ``<app>/locale`` for every installed app, so no ``LOCALE_PATHS`` are configured.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
APPS = (
    "core",
    "regulatory",
    "journey",
    "network",
    "processing",
    "treatment",
    "safety",
    "outcomes",
    "interop",
)
LANGUAGES = ("ja", "zh_Hans")  # required: Japanese complete, simplified Chinese for families


def catalogue_languages(package: Path = PACKAGE) -> list[str]:
    """The required languages plus any a translator added (``scripts/i18n.py --add ko``)."""
    extra = {
        d.name
        for app in APPS
        for d in (package / app / "locale").glob("*")
        if d.is_dir() and d.name not in LANGUAGES
    }
    return [*LANGUAGES, *sorted(extra)]


# Every page, e-mail and PDF a family (patient, relative, legal proxy) sees, as paths relative to
# the ``saisei`` package; ``path:Name`` narrows a module that also serves staff to one top-level
# class, function or table. Simplified Chinese must be complete for every msgid these use;
# scripts/i18n.py --check enforces it. Shared shell templates they extend are listed too.
FAMILY_FACING: tuple[str, ...] = (
    # the shell every public and portal page extends
    "templates/base.html",
    "templates/includes/form_fields.html",
    "templates/journey/portal_base.html",
    "templates/journey/_field.html",
    # public inquiry and its confirmation (page and e-mail)
    "templates/journey/public/inquiry.html",
    "templates/journey/public/thanks.html",
    "journey/views/public.py",
    "journey/forms.py:InquiryForm",
    "journey/services/intake.py",
    # portal: sign-in, home, quote, consent, report, diary, problem report
    "templates/journey/portal/enter.html",
    "templates/journey/portal/home.html",
    "templates/journey/portal/no_access.html",
    "templates/journey/portal/quote.html",
    "templates/journey/portal/consent.html",
    "templates/journey/portal/report.html",
    "templates/journey/_quote_body.html",
    "templates/journey/_itinerary_body.html",
    "templates/journey/itinerary_print.html",
    "journey/views/portal.py",
    "journey/forms.py:AcceptForm",
    "journey/pricing.py:LINE_LABELS",
    "journey/pricing.py:STAGE_LABELS",
    "journey/rules.py:QUOTE_EVIDENCE",
    "journey/rules.py:QUOTE_RISKS",
    "journey/ical.py",
    "safety/views.py:PortalReportForm",
    "templates/outcomes/portal_diary.html",
    "templates/safety/portal_report.html",
    "templates/safety/portal_report_done.html",
    # facilitator network: choosing clinics, per-clinic consent, quotes compared side by side
    "templates/network/portal/referral.html",
    "templates/network/portal/compare.html",
    "templates/network/portal/none.html",
    "templates/network/_comparison.html",
    "network/rules.py",
    "network/services.py",
    # PDFs handed to the family: quote, itinerary, family outcome report
    "journey/documents.py",
    "journey/i18n.py",
    "outcomes/reports.py",
    # what the family outcome report draws on: chart labels, the reading and its cautions, stages
    "outcomes/plots.py:LABELS",
    "outcomes/trajectory.py",
    "outcomes/reference.py",
    # every PDF's page footer ("Page 1 of 2")
    "core/pdf.py",
)


def family_facing(occurrences: list[tuple[str, str]]) -> str | None:
    """The first family-facing entry among xgettext ``(path, line)`` occurrences, if any."""
    import ast

    for raw, line in occurrences:
        path = raw.removeprefix("./")
        if path in FAMILY_FACING:
            return path
        for entry in FAMILY_FACING:
            file, _, name = entry.partition(":")
            if name and file == path and line.isdigit():
                tree = ast.parse((PACKAGE / file).read_text(encoding="utf-8"))
                for node in tree.body:
                    target = getattr(node, "name", None) or getattr(
                        getattr(node, "target", None), "id", None
                    )
                    if target == name and node.lineno <= int(line) <= (node.end_lineno or 0):
                        return entry
    return None


def app_of(relative: Path) -> str:
    """The app whose catalogue holds the strings of ``relative`` (a path inside ``saisei``)."""
    parts = relative.parts
    if parts and parts[0] in APPS:
        return parts[0]
    if len(parts) > 2 and parts[0] == "templates" and parts[1] in APPS:
        return parts[1]
    return "core"


def catalogue_dir(app: str) -> Path:
    """The ``locale`` directory of ``app``."""
    return PACKAGE / app / "locale"


def po_path(app: str, language: str) -> Path:
    """The .po file of ``app`` for ``language`` (a gettext locale name such as ``zh_Hans``)."""
    return catalogue_dir(app) / language / "LC_MESSAGES" / "django.po"


def translations(app: str, language: str) -> dict[str, str]:
    """The committed translations of ``app`` without a context, msgid -> text (for tests)."""
    import polib

    po = polib.pofile(str(po_path(app, language)))
    return {e.msgid: e.msgstr for e in po if not e.msgctxt and e.msgstr and "fuzzy" not in e.flags}


# --- which languages the service offers ------------------------------------------------------

# Always offered: English (the source language) and the two every catalogue must cover.
CORE_LANGUAGES = ("en", "ja", "zh-hans")
# The app whose catalogue holds the family-facing pages: a language is offered once a translator
# has added its catalogue here (``scripts/i18n.py --add ko`` creates it); no code changes.
FAMILY_CATALOGUE_APP = "journey"


def language_code(locale_name: str) -> str:
    """Django's language code for a gettext locale name (``zh_Hant`` -> ``zh-hant``)."""
    return locale_name.replace("_", "-").lower()


def locale_name(code: str) -> str:
    """The gettext locale name for a language code (``zh-hant`` -> ``zh_Hant``, ``ko`` -> ``ko``)."""
    lang, _, region = code.partition("-")
    if not region:
        return lang
    return f"{lang}_{region.title() if len(region) > 2 else region.upper()}"


def offered_languages(explicit: list[str] | None = None) -> list[str]:
    """Language codes the service offers: ``SAISEI_LANGUAGES`` when set, else the core three plus
    every language with a compiled family-facing catalogue."""
    if explicit:
        return [language_code(c) for c in explicit]
    codes = list(CORE_LANGUAGES)
    base = catalogue_dir(FAMILY_CATALOGUE_APP)
    if base.is_dir():
        for mo in sorted(base.glob("*/LC_MESSAGES/django.mo")):
            code = language_code(mo.parts[-3])
            if code not in codes:
                codes.append(code)
    return codes
