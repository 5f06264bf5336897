"""List functions longer than the house limit (80 lines), outside migrations and tests.

The limit is in docs/architecture.md ("Modules with one idea"); data tables (module-level
constants) do not count because they are not functions. Without ``--check`` it reports and
exits 0; with ``--check`` (run by .ci/run) it exits 1 when a function not in ``ALLOWED`` is over
the limit, or when an ``ALLOWED`` entry is no longer over it (so the list only shrinks).

    .venv/bin/python scripts/long_functions.py [--limit 80] [--tests] [--check]
"""

from __future__ import annotations

import argparse
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "saisei"

# Functions allowed over the limit, as "path:name" with the reason. Only data tables belong here
# (declarations read as a table, not logic); logic over the limit is split into named steps.
ALLOWED: dict[str, str] = {
    "saisei/interop/redcap.py:forms": (
        "a data table: the research instruments and their variables, in the order REDCap shows"
    ),
}


def long_functions(limit: int, *, tests: bool) -> list[tuple[int, str, str]]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if "migrations" in parts or (not tests and "tests" in parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > limit:
                    found.append((length, str(path.relative_to(ROOT.parent)), node.name))
    return sorted(found, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("--tests", action="store_true", help="include test modules")
    parser.add_argument("--check", action="store_true", help="fail on functions not allowed")
    args = parser.parse_args()
    rows = long_functions(args.limit, tests=args.tests)
    for length, where, name in rows:
        allowed = "  (allowed: see ALLOWED)" if f"{where}:{name}" in ALLOWED else ""
        print(f"{length:5d}  {where}  {name}{allowed}")
    print(f"{len(rows)} functions over {args.limit} lines")
    if args.check:
        over = {f"{where}:{name}" for _length, where, name in rows}
        new = sorted(over - ALLOWED.keys())
        done = sorted(ALLOWED.keys() - over)
        for key in new:
            print(f"over the limit and not allowed: {key}")
        for key in done:
            print(f"no longer over the limit, remove from ALLOWED: {key}")
        if new or done:
            raise SystemExit(1)


if __name__ == "__main__":
    main()
