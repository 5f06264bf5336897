"""A streaming cap for the public inquiry form's uploads: a file past the size limit, or past the
number of files allowed, is dropped while it arrives, before more than the limit reaches the disk.
"""

from __future__ import annotations

from typing import Any

from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

from . import rules


class CappedUploadHandler(FileUploadHandler):
    """First in the request's handler chain: counts each file's bytes as they stream in and
    skips the file (Django then closes and deletes what the next handler wrote) once it passes
    ``rules.upload_max_bytes()``; files beyond ``rules.upload_max_files()`` are skipped whole.

    What was dropped is kept on the handler so the view can tell the family which file and why.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.max_bytes = rules.upload_max_bytes()
        self.max_files = rules.upload_max_files()
        self.files_seen = 0
        self.received = 0
        self.too_big: list[str] = []
        self.too_many: list[str] = []

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        # Skipping happens on the first chunk, not here: by then every handler has opened this
        # file, so Django's clean-up closes this file and not the previous, accepted one.
        super().new_file(*args, **kwargs)
        self.files_seen += 1
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if self.files_seen > self.max_files:
            if start == 0:
                self.too_many.append(self.file_name or "?")
            raise SkipFile
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.too_big.append(self.file_name or "?")
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
