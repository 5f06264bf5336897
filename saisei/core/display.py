"""Labels for values that are stored as codes but read by people (pages, e-mails, PDFs)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# Routes of administration are free text in plans and course steps (a plan may name any route
# its committee approved); these are the ones the clinics use, in the reader's language.
_ROUTE_LABELS: dict[str, Any] = {
    "iv": _("Intravenous"),
    "intravenous": _("Intravenous"),
    "intrathecal": _("Intrathecal"),
    "it": _("Intrathecal"),
    "intra_articular": _("Intra-articular"),
    "icv": _("Intracerebroventricular"),
    "intracerebroventricular": _("Intracerebroventricular"),
    "subcutaneous": _("Subcutaneous"),
    "intramuscular": _("Intramuscular"),
    "intradermal": _("Intradermal"),
    "intracardiac": _("Intracardiac"),
    "intramyocardial": _("Intramyocardial"),
    "local_injection": _("Local injection"),
}


def route_label(value: Any) -> str:
    """A route of administration in the reader's language: ``iv`` reads "Intravenous".

    A route no table knows (a plan may name any route its committee approved) is shown as
    written, never hidden.
    """
    if value in (None, ""):
        return "—"
    code = str(value).strip()
    label = _ROUTE_LABELS.get(code.lower())
    return str(label) if label is not None else code
