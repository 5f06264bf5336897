"""Property tests for the custody parsers: logger files and the identity comparison of scans."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.errors import ValidationFailed
from saisei.processing.isbt128 import build_din
from saisei.processing.services.custody import identity_check, parse_logger_csv

temps = st.floats(min_value=-200, max_value=60, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(temps, min_size=1, max_size=60))
def test_logger_summary_reports_the_true_extremes(values: list[float]) -> None:
    text = "timestamp,temperature (°C)\n" + "".join(
        f"2026-04-01T10:{i % 60:02d},{v!r}\n" for i, v in enumerate(values)
    )
    summary = parse_logger_csv(text=text)
    assert summary["readings"] == len(values)
    assert summary["min_c"] == min(values)
    assert summary["max_c"] == max(values)


@settings(max_examples=100, deadline=None)
@given(st.lists(temps, min_size=1, max_size=10), st.integers(min_value=0, max_value=9))
def test_one_unreadable_line_refuses_the_whole_file(values: list[float], bad: int) -> None:
    rows = [f"t{i},{v!r}" for i, v in enumerate(values)]
    rows.insert(min(bad, len(rows)), "t,n/a")
    with pytest.raises(ValidationFailed):
        parse_logger_csv(text="time,temperature\n" + "\n".join(rows))


sequences = st.integers(min_value=0, max_value=999_999)


@settings(max_examples=200, deadline=None)
@given(sequences, sequences)
def test_a_container_of_another_donation_never_matches(expected_seq: int, scanned_seq: int) -> None:
    expected = build_din(facility_id="A9999", year=2026, sequence=expected_seq, check_flags=True)
    scanned = build_din(facility_id="A9999", year=2026, sequence=scanned_seq, check_flags=True)
    ok, reason, _found = identity_check(
        expected={"din": expected.din, "coi": f"CH{expected.din}"}, scan_text=scanned.barcode_data
    )
    assert ok is (expected_seq == scanned_seq)
    if not ok:
        assert reason == "din_mismatch"
