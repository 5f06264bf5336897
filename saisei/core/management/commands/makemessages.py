"""Django's makemessages, writing one catalogue per app and also extracting ``_l(...)``.

Run from the ``saisei`` package directory (scripts/i18n.py does). Each source file goes to the
catalogue that :func:`saisei.core.catalogues.app_of` names, so project templates under
``templates/<app>/`` land in that app's ``locale`` directory. Fuzzy matching is off: a new msgid
starts untranslated instead of borrowing a neighbour's wording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.commands.makemessages import Command as BaseCommand

from saisei.core.catalogues import app_of


class Command(BaseCommand):
    # t(msgid, language) renders documents in the family's language (journey/i18n.py): its
    # msgids must be extracted too, or the quote PDF stays English (found by issue 15's check).
    xgettext_options = [*BaseCommand.xgettext_options, "--keyword=_l", "--keyword=t"]
    msgmerge_options = [*BaseCommand.msgmerge_options, "--no-fuzzy-matching"]

    def find_files(self, root: str) -> list[Any]:
        found = super().find_files(root)
        base = Path(root).resolve()
        out = []
        dirs: set[str] = set()
        for f in found:
            app = app_of((Path(f.dirpath).resolve() / f.file).relative_to(base))
            locale_dir = base / app / "locale"
            locale_dir.mkdir(parents=True, exist_ok=True)
            dirs.add(str(locale_dir))
            out.append(self.translatable_file_class(f.dirpath, f.file, str(locale_dir)))
        self.locale_paths = sorted(dirs)
        return sorted(out)
