"""Hot endpoints only, under `saisei serve --production`, against the bare view: on an existing
demo database (no seeding), so a before/after pair of runs takes a minute each.

Run:  SAISEI_DATA_DIR=DIR .venv/bin/python bench/hot_http.py [--quick]
(DIR holds a database with the demo loaded, e.g. one bench/profile_hot.py prepared.) Prints the
same lines and ratio table as bench/run.py's hot-endpoint part. Timings live here, never in tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")
if "SAISEI_DATA_DIR" not in os.environ:
    sys.exit("Set SAISEI_DATA_DIR to a directory whose database holds the demo.")

import django  # noqa: E402

django.setup()


def main() -> None:
    from bench import scale
    from saisei.core.models import Organisation

    rows: list[tuple[str, str, str, bool | None]] = []

    def goal(measure: str, value: str, target: str, met: bool | None) -> None:
        rows.append((measure, value, target, met))

    reader = scale._bench_user(Organisation.objects.get(slug="sakura"), "bench-hot-reader")
    scale._http(reader, goal, quick="--quick" in sys.argv, results={})
    for measure, value, target, met in rows:
        mark = "yes" if met else "NO" if met is not None else "-"
        print(f"{measure:<62} {value:>16} {target:>8}  {mark}")


if __name__ == "__main__":
    main()
