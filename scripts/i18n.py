"""Refresh the translation catalogues: extract msgids, fill them from each app's locale files, compile.

Each app keeps its translations next to its code in ``saisei/<app>/locale_ja.py`` (``JA`` dict,
and optionally ``ZH`` for simplified Chinese), English msgid -> translation. This script runs
``makemessages`` (needs GNU gettext), writes those translations into the .po files and compiles
the .mo files, which are committed so that a fresh install needs no gettext tools.

Usage: python scripts/i18n.py [--check]   (--check: exit 1 if a Japanese msgid has no translation)
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "saisei"
LANGS = {"ja": "JA", "zh_Hans": "ZH"}


def collect(attr: str) -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")
    import django

    django.setup()
    out: dict[str, str] = {}
    for path in sorted(PKG.rglob("locale_ja.py")):
        dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        m = importlib.import_module(dotted)
        out.update(getattr(m, attr, None) or getattr(m, f"MESSAGES_{attr}", {}))
    core = importlib.import_module("saisei.core.locale_ja")
    out.update(getattr(core, f"OVERRIDE_{attr}", {}))
    return out


def main() -> int:
    check = "--check" in sys.argv
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saisei.settings",
        "PYTHONPATH": str(ROOT),
        "SAISEI_DATA_DIR": os.environ.get("SAISEI_DATA_DIR", str(ROOT / "var")),
    }
    if not check:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "django",
                "makemessages",
                "--no-obsolete",
                "--no-location",
                *[arg for lang in LANGS for arg in ("-l", lang)],
                "-i",
                "tests/*",
                "-i",
                "*/tests/*",
            ],
            cwd=PKG,
            env=env,
            check=True,
        )
    missing: list[str] = []
    for lang, attr in LANGS.items():
        po_path = PKG / "locale" / lang / "LC_MESSAGES" / "django.po"
        po = polib.pofile(str(po_path))
        table = collect(attr)
        for entry in po:
            text = table.get(entry.msgid)
            if text:
                if entry.msgid_plural:
                    entry.msgstr_plural = {0: text}
                else:
                    entry.msgstr = text
                if "fuzzy" in entry.flags:
                    entry.flags.remove("fuzzy")
            elif lang == "ja" and not (entry.msgstr or entry.msgstr_plural.get(0)):
                missing.append(entry.msgid)
        po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
        po.metadata["Language"] = lang
        if not check:
            po.save()
            po.save_as_mofile(str(po_path.with_suffix(".mo")))
    if missing:
        print(f"{len(missing)} Japanese msgids have no translation:", file=sys.stderr)
        for m in missing[:200]:
            print(f"  {m!r}", file=sys.stderr)
        return 1 if check else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
