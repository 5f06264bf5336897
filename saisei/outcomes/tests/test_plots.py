"""Charts render as PNG, and Japanese labels render with a real Japanese font."""

import warnings
from datetime import date

import pytest
from matplotlib import font_manager

from saisei.outcomes.cohort import fit_cohort
from saisei.outcomes.plots import FONT, LABELS, cohort_png, tr, trajectory_png
from saisei.outcomes.reference import DEFAULT_REFERENCE_ROWS, find_reference
from saisei.outcomes.trajectory import read_trajectory

PNG = b"\x89PNG\r\n\x1a\n"
OBS = [
    (date(2025, 1, 10), 21),
    (date(2025, 4, 12), 23),
    (date(2025, 7, 9), 21),
    (date(2026, 1, 15), 19),
]


def test_japanese_font_is_available():
    path = font_manager.findfont(FONT, fallback_to_default=False)
    assert "ipaex" in path.lower()


def test_labels_translate_to_japanese_even_before_the_catalogue_is_merged():
    assert tr(LABELS["months"], "ja") == "開始時からの月数"
    assert tr(LABELS["months"], "en") == "Months since baseline"


@pytest.mark.parametrize("language", ["en", "ja"])
def test_trajectory_png_renders_without_missing_glyphs(language):
    reading = read_trajectory(measure="MMSE", stage="mild_ad", observations=OBS, horizon_months=18)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font" for tofu
        png = trajectory_png(reading=reading, observations=OBS, language=language)
    assert png.startswith(PNG) and len(png) > 10_000


def test_cohort_png_renders_in_japanese():
    rows = [
        {"patient": p, "months": m, "score": 3 + 0.1 * m + i * 0.5}
        for i, p in enumerate("ABCDEF")
        for m in (0, 6, 12)
    ]
    ref = find_reference(measure="CDR-SB", stage="early_ad", rows=DEFAULT_REFERENCE_ROWS)
    fit = fit_cohort(rows=rows, reference=ref)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = cohort_png(measure="CDR-SB", rows=rows, fit=fit, language="ja")
    assert png.startswith(PNG)


def test_trajectory_without_reference_still_plots_observations():
    reading = read_trajectory(measure="MOCA", stage="mild_ad", observations=OBS)
    assert trajectory_png(reading=reading, observations=OBS, language="ja").startswith(PNG)
