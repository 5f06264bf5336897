"""PNG charts of a patient's trajectory and a cohort's course, in English or Japanese.

Figures are built with matplotlib's object API on the Agg canvas (no global pyplot state, so
concurrent requests do not interfere); IPAex Gothic from matplotlib-fontja renders Japanese.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib_fontja  # noqa: F401  (registers IPAex Gothic with matplotlib)
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from saisei.outcomes.axes import month_axis, score_axis
from saisei.outcomes.cohort import CohortFit
from saisei.outcomes.instruments import measure_info
from saisei.outcomes.trajectory import Reading, months_between

FONT = "IPAexGothic"
# IPAex Gothic is Japanese and lacks many simplified-Chinese ideographs; a CJK font installed on the
# machine (Noto Sans CJK SC, as Debian's fonts-noto-cjk provides) draws those. Only fonts that are
# present are listed, so matplotlib never warns about a missing family.
CJK_FALLBACKS = ("Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR", "WenQuanYi Micro Hei")


def _font_families() -> list[str]:
    from matplotlib import font_manager

    present = {f.name for f in font_manager.fontManager.ttflist}
    return [FONT, *(name for name in CJK_FALLBACKS if name in present)]


FONTS = _font_families()
OBSERVED = "#1f4e79"
EXPECTED = "#7f7f7f"
BAND = "#d9d9d9"
REFERENCE = "#c55a11"

LABELS: dict[str, Any] = {
    "months": _("Months since baseline"),
    "score": _("Score"),
    "observed": _("Observed score"),
    "expected": _("Expected without treatment"),
    "band": _("Range expected without treatment (%(level)s%%)"),
    "worse_up": _("Higher is worse"),
    "worse_down": _("Lower is worse"),
    "cohort_mean": _("Cohort mean course (%(level)s%% confidence)"),
    "reference": _("Reference course without treatment"),
    "patients": _("Each line is one patient"),
    "n_patients": _("%(n)s patients, %(k)s assessments"),
}


def tr(message: Any, language: str) -> str:
    """A lazy message or a stored msgid in ``language`` (documents and charts pick their language)."""
    with translation.override(language):
        return gettext(message) if isinstance(message, str) else str(message)


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig)
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _new_figure() -> Figure:
    fig = Figure(figsize=(7.2, 4.4))
    return fig


def _style(ax: Any, *, measure: str, language: str, months: Sequence[float]) -> None:
    """Labels, and axes from 0 to the follow-up and over the instrument's range (saisei.outcomes.axes)."""
    info = measure_info(measure)
    ax.set_xlabel(tr(LABELS["months"], language), fontfamily=FONTS)
    worse = LABELS["worse_up"] if info.higher_is_worse else LABELS["worse_down"]
    ax.set_ylabel(f"{measure} ({tr(worse, language)})", fontfamily=FONTS)
    x = month_axis(months)
    ax.set_xlim(x.low, x.high)
    ax.set_xticks(x.ticks, [f"{t:g}" for t in x.ticks])
    y = score_axis(info.range.low, info.range.high)
    ax.set_ylim(y.low, y.high)
    ax.set_yticks(y.ticks, [f"{t:g}" for t in y.ticks])
    ax.grid(True, color="#eeeeee")
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)


def trajectory_png(
    *,
    reading: Reading,
    observations: Sequence[tuple[date, float]],
    language: str = "en",
    title: str | None = None,
) -> bytes:
    """One patient's observed scores over the expected course and band from ``read_trajectory``."""
    fig = _new_figure()
    ax = fig.add_subplot(1, 1, 1)
    obs = sorted(observations)
    start = reading.baseline_date or (obs[0][0] if obs else None)
    if reading.expected_path:
        xs = [p.months for p in reading.expected_path]
        level = round(reading.level * 100)
        ax.fill_between(
            xs,
            [p.lower for p in reading.expected_path],
            [p.upper for p in reading.expected_path],
            color=BAND,
            alpha=0.8,
            linewidth=0,
            label=tr(LABELS["band"], language) % {"level": level},
        )
        ax.plot(
            xs,
            [p.expected for p in reading.expected_path],
            color=EXPECTED,
            linestyle="--",
            linewidth=1.6,
            label=tr(LABELS["expected"], language),
        )
    if obs and start is not None:
        ax.plot(
            [months_between(start, d) for d, _s in obs],
            [s for _d, s in obs],
            color=OBSERVED,
            marker="o",
            linewidth=1.8,
            markersize=6,
            label=tr(LABELS["observed"], language),
            zorder=3,
        )
    months = [p.months for p in reading.expected_path]
    if start is not None:
        months += [months_between(start, d) for d, _s in obs]
    _style(ax, measure=reading.measure, language=language, months=months)
    info = measure_info(reading.measure)
    name = str(tr(info.instrument.name, language))
    ax.set_title(title or name, fontfamily=FONTS, fontsize=11, loc="left")
    ax.legend(prop={"family": FONTS, "size": 8}, loc="best", frameon=False)
    fig.text(
        0.01,
        0.01,
        tr(reading.text, language),
        fontfamily=FONTS,
        fontsize=8,
        wrap=True,
        color="#333333",
    )
    fig.subplots_adjust(bottom=0.2, left=0.12, right=0.97, top=0.9)
    return _png(fig)


def cohort_png(
    *,
    measure: str,
    rows: Sequence[Mapping[str, Any]],
    fit: CohortFit,
    language: str = "en",
    title: str | None = None,
) -> bytes:
    """Every patient's scores as thin lines (dropouts included), the fitted mean course and the reference."""
    fig = _new_figure()
    ax = fig.add_subplot(1, 1, 1)
    by_patient: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        if r.get("score") is not None:
            by_patient[str(r["patient"])].append((float(r["months"]), float(r["score"])))
    for pts in by_patient.values():
        pts.sort()
        ax.plot(
            [m for m, _s in pts],
            [s for _m, s in pts],
            color=OBSERVED,
            alpha=0.25,
            linewidth=0.8,
            marker="o",
            markersize=2.5,
        )
    max_m = max((m for pts in by_patient.values() for m, _s in pts), default=12.0) or 12.0
    xs = [0.0, max_m]
    level = round(fit.level * 100)
    if fit.slope_per_year is not None and fit.intercept is not None:
        y = [fit.intercept + fit.slope_per_year * m / 12 for m in xs]
        ax.plot(
            xs,
            y,
            color=OBSERVED,
            linewidth=2.4,
            label=tr(LABELS["cohort_mean"], language) % {"level": level},
        )
        if fit.ci_low is not None and fit.ci_high is not None:
            ax.fill_between(
                xs,
                [fit.intercept + fit.ci_low * m / 12 for m in xs],
                [fit.intercept + fit.ci_high * m / 12 for m in xs],
                color=OBSERVED,
                alpha=0.12,
                linewidth=0,
            )
        if fit.reference_annual_change is not None:
            ax.plot(
                xs,
                [fit.intercept + fit.reference_annual_change * m / 12 for m in xs],
                color=REFERENCE,
                linestyle="--",
                linewidth=1.8,
                label=tr(LABELS["reference"], language),
            )
    _style(ax, measure=measure, language=language, months=xs)
    ax.set_title(
        title or str(tr(measure_info(measure).instrument.name, language)),
        fontfamily=FONTS,
        fontsize=11,
        loc="left",
    )
    ax.legend(prop={"family": FONTS, "size": 8}, loc="best", frameon=False)
    note = tr(LABELS["n_patients"], language) % {"n": fit.n_patients, "k": fit.n_obs}
    fig.text(
        0.01,
        0.01,
        f"{tr(LABELS['patients'], language)} · {note}",
        fontfamily=FONTS,
        fontsize=8,
        color="#333333",
    )
    fig.subplots_adjust(bottom=0.18, left=0.12, right=0.97, top=0.9)
    return _png(fig)
