"""Words for the cohort model's method and warnings, which the fit records as stable codes.

The codes stay in the API and the stored results; pages and PDFs show these labels instead.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

METHOD_LABELS: dict[str, Any] = {
    "mixedlm_slope": _("Mixed-effects model with a slope for each patient"),
    "mixedlm_intercept": _("Mixed-effects model with a starting level for each patient"),
    "two_stage": _("Average of each patient's own slope (too few patients for a mixed model)"),
    "none": _("Not estimated"),
}

WARNING_LABELS: dict[str, Any] = {
    "enrolled_without_scores": _("Some enrolled patients have no scores yet."),
    "patients_with_baseline_only": _("Some patients have only a starting score."),
    "few_patients": _("Few patients: the estimate is imprecise."),
    "too_few_data": _("Too few scores over time to estimate a slope."),
    "model_skipped_few_patients": _(
        "Too few patients with follow-up for a mixed-effects model; each patient's own slope "
        "was averaged instead."
    ),
    "random_slope_dropped": _(
        "The model with a slope for each patient could not be fitted; a simpler model was used."
    ),
    "slope_model_failed": _("The model with a slope for each patient could not be fitted."),
    "slope_model_not_converged": _("The model with a slope for each patient did not converge."),
    "slope_model_no_between_patient_slope_variation": _(
        "The patients' slopes hardly differ from one another."
    ),
    "intercept_model_failed": _("The simpler mixed-effects model could not be fitted."),
    "intercept_model_not_converged": _("The simpler mixed-effects model did not converge."),
}


def method_label(code: str) -> str:
    """The fitting method in words; an unknown code is shown as it is rather than hidden."""
    label = METHOD_LABELS.get(code)
    return str(label) if label is not None else code


def warning_labels(codes: list[str], *, skip: frozenset[str] = frozenset()) -> list[str]:
    """The model's warnings in words, in order, without the codes the page explains elsewhere."""
    out = []
    for code in codes:
        if code in skip:
            continue
        label = WARNING_LABELS.get(code)
        out.append(str(label) if label is not None else code)
    return out
