"""List functions longer than the house limit (80 lines), outside migrations and tests.

The limit is in docs/architecture.md ("Modules with one idea"); data tables (module-level
constants) do not count because they are not functions. Reports only; exits 0.

    .venv/bin/python scripts/long_functions.py [--limit 80] [--tests]
"""

from __future__ import annotations

import argparse
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "saisei"


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
                    where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                    found.append((length, where, node.name))
    return sorted(found, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("--tests", action="store_true", help="include test modules")
    args = parser.parse_args()
    rows = long_functions(args.limit, tests=args.tests)
    for length, where, name in rows:
        print(f"{length:5d}  {where}  {name}")
    print(f"{len(rows)} functions over {args.limit} lines")


if __name__ == "__main__":
    main()
