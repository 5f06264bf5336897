"""Refresh, compile and check the per-app gettext catalogues.

Each app keeps its translations in ``saisei/<app>/locale/<lang>/LC_MESSAGES/django.po``, edited
with ordinary gettext tools (Poedit, Lokalize, a text editor); project templates under
``saisei/templates/<app>/`` belong to that app and the shell (``base.html``, ``includes/``) to
core (saisei/core/catalogues.py). The compiled ``.mo`` files are committed, so a fresh install
needs no gettext tools: compiling uses polib.

Usage:
  python scripts/i18n.py            extract new msgids (makemessages; needs GNU gettext), compile
  python scripts/i18n.py --compile  only compile every .po to .mo (needs nothing but Python)
  python scripts/i18n.py --check    fail when extraction would change a catalogue, a Japanese
                                    msgid is untranslated or fuzzy, a family-facing msgid has no
                                    simplified Chinese, two catalogues translate the same msgid
                                    differently, or a .mo is out of date
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "saisei"
sys.path.insert(0, str(ROOT))

from saisei.core.catalogues import APPS, catalogue_languages, family_facing  # noqa: E402

Key = tuple[str | None, str]


def makemessages(package: Path, *, locations: bool) -> None:
    """Run the project's makemessages (one catalogue per app) over ``package``."""
    missing = [tool for tool in ("xgettext", "msgmerge", "msguniq") if not shutil.which(tool)]
    if missing:
        raise SystemExit(
            f"GNU gettext is not installed (missing {', '.join(missing)}); "
            "install it (Debian: apt-get install gettext) to extract or check translations."
        )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "saisei.settings",
        "PYTHONPATH": str(ROOT),
        "SAISEI_DATA_DIR": os.environ.get("SAISEI_DATA_DIR") or tempfile.mkdtemp(),
    }
    args = [sys.executable, "-m", "django", "makemessages", "--no-obsolete", "--no-wrap"]
    args += [] if locations else ["--no-location"]
    for lang in catalogue_languages(package):
        args += ["-l", lang]
    args += ["-i", "tests/*", "-i", "*/tests/*", "-i", "static/*", "--verbosity", "0"]
    subprocess.run(args, cwd=package, env=env, check=True)


def catalogues(package: Path = PKG) -> Iterator[tuple[str, str, Path]]:
    for app in APPS:
        for lang in catalogue_languages(package):
            path = package / app / "locale" / lang / "LC_MESSAGES" / "django.po"
            if path.exists():
                yield app, lang, path


def tidy(po: polib.POFile, lang: str) -> None:
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.metadata["Language"] = lang
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"  # Japanese and Chinese: one form
    po.metadata.pop("POT-Creation-Date", None)
    po.metadata["Project-Id-Version"] = "Saisei"
    po.metadata_is_fuzzy = False
    po.header = "Saisei translations. Edit with any gettext tool; run scripts/i18n.py to compile."


def translated(entry: polib.POEntry) -> str:
    if entry.msgid_plural:
        return "\x00".join(v for _, v in sorted(entry.msgstr_plural.items()) if v)
    return entry.msgstr


def table(po: polib.POFile) -> dict[Key, str]:
    return {
        (e.msgctxt, e.msgid): translated(e) for e in po if not e.obsolete and "fuzzy" not in e.flags
    }


def compile_all() -> None:
    for _app, lang, path in catalogues():
        po = polib.pofile(str(path), wrapwidth=0)
        tidy(po, lang)
        po.save()
        po.save_as_mofile(str(path.with_suffix(".mo")))


def check() -> list[str]:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "saisei"
        shutil.copytree(PKG, copy, ignore=shutil.ignore_patterns("__pycache__", "static", "*.mo"))
        makemessages(copy, locations=True)
        fresh = {(a, lang): polib.pofile(str(p)) for a, lang, p in catalogues(copy)}
    committed = {(a, lang): polib.pofile(str(p)) for a, lang, p in catalogues()}
    for key in sorted(set(fresh) | set(committed)):
        app, lang = key
        if key not in committed:
            problems.append(f"{app}/{lang}: no catalogue; run scripts/i18n.py")
            continue
        if key not in fresh:
            problems.append(f"{app}/{lang}: catalogue with no source strings; delete it")
            continue
        new_ids, old_ids = set(table_ids(fresh[key])), set(table_ids(committed[key]))
        if new_ids != old_ids:
            added = sorted(new_ids - old_ids, key=str)[:5]
            gone = sorted(old_ids - new_ids, key=str)[:5]
            problems.append(
                f"{app}/{lang}: catalogue out of date (new {added}, gone {gone}); "
                "run scripts/i18n.py"
            )
        po = committed[key]
        for entry in po:
            where = f"{app}/{lang}: {entry.msgid!r}" + (
                f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
            )
            if "fuzzy" in entry.flags:
                problems.append(f"{where} is fuzzy")
            elif lang == "ja" and not translated(entry):
                problems.append(f"{where} has no Japanese")
        if lang == "zh_Hans":
            for entry in fresh[key]:
                family = family_facing(entry.occurrences)
                done = committed[key].find(entry.msgid, msgctxt=entry.msgctxt)
                if family and not (done and translated(done) and "fuzzy" not in done.flags):
                    problems.append(
                        f"{app}/zh_Hans: {entry.msgid!r} (family-facing, {family}) "
                        "has no simplified Chinese"
                    )
        mo_path = PKG / app / "locale" / lang / "LC_MESSAGES" / "django.mo"
        compiled = (
            {(e.msgctxt, e.msgid): translated(e) for e in polib.mofile(str(mo_path))}
            if mo_path.exists()
            else {}
        )
        wanted = {k: v for k, v in table(po).items() if v and k[1]}
        if any(compiled.get(k) != v for k, v in wanted.items()):
            problems.append(
                f"{app}/{lang}: django.mo is out of date; run scripts/i18n.py --compile"
            )
    problems += conflicts(committed)
    return problems


def table_ids(po: polib.POFile) -> list[Key]:
    return [(e.msgctxt, e.msgid) for e in po if not e.obsolete]


def conflicts(committed: dict[tuple[str, str], polib.POFile]) -> list[str]:
    """The same msgid translated differently by two apps: Django would pick one silently."""
    out = []
    for lang in catalogue_languages():
        seen: dict[Key, tuple[str, str]] = {}
        for (app, lg), po in sorted(committed.items()):
            if lg != lang:
                continue
            for key, text in table(po).items():
                if not text:
                    continue
                if key in seen and seen[key][1] != text:
                    out.append(
                        f"{lang}: {key[1]!r} is {seen[key][1]!r} in {seen[key][0]} but {text!r} "
                        f"in {app}; use one wording, or pgettext with a context per meaning"
                    )
                seen.setdefault(key, (app, text))
    return out


def main() -> int:
    if "--check" in sys.argv:
        problems = check()
        for p in problems[:300]:
            print(p, file=sys.stderr)
        if problems:
            print(f"{len(problems)} translation problems", file=sys.stderr)
            return 1
        return 0
    if "--add" in sys.argv:
        # A translator adds a language: an empty catalogue for the family-facing pages and the
        # shell; extraction then fills in every msgid. Once compiled, the language is offered.
        lang = sys.argv[sys.argv.index("--add") + 1]
        for app in ("core", "journey", "safety", "outcomes"):
            (PKG / app / "locale" / lang / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    if "--compile" not in sys.argv:
        makemessages(PKG, locations=False)
    compile_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
