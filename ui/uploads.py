"""Notes uploaded through the browser land in the notes folder, under a name that cannot escape it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from rag import RagError

ALLOWED = (".md", ".markdown", ".txt", ".pdf")
# Gradio refuses a file over its own limit before any handler runs, in a toast with other units
# ("19.1 Mb") that leaves the last result on the page. Its limit sits well above the notes' limit, so
# `save_upload` is what refuses an oversized note, by name, in the result box; Gradio's only stops
# uploads large enough to matter to the disk.
UPLOAD_TRANSPORT_FACTOR = 5


class UploadRefused(RagError, ValueError):
    """One line: which upload, why, and what to do instead."""


def safe_name(name: str) -> str:
    """The name as given if it is a plain file name of an allowed type; refused otherwise. Anything
    that looks like a path (../, /abs, C:\\, NUL) is refused, not cleaned up: a silently renamed file is
    a surprise, a refusal says what happened."""
    if "\x00" in name:
        raise UploadRefused(f"{name!r}: the name contains a NUL byte; rename the file")
    if "/" in name or "\\" in name or name in (".", "..") or re.match(r"^[A-Za-z]:", name):
        raise UploadRefused(f"{name!r}: a path, not a file name; upload the file itself")
    if name.startswith("."):
        raise UploadRefused(f"{name!r}: hidden files are not notes; rename it without the leading dot")
    if not name.lower().endswith(ALLOWED):
        raise UploadRefused(f"{name!r}: only {', '.join(ALLOWED)} files are notes; convert it first")
    if len(name.encode()) > 200 or not re.fullmatch(r"[\w\-. ()+,&'äöüÄÖÜß]+", name):
        raise UploadRefused(f"{name!r}: use letters, digits, spaces and - _ . ( ) in the name")
    return name


def save_upload(notes_dir: Path, name: str, source: Path, max_bytes: int) -> Path:
    """Copy an uploaded temp file into the notes folder; an existing note of that name is replaced."""
    name = safe_name(name)
    size = source.stat().st_size
    if size > max_bytes:
        raise UploadRefused(f"{name!r}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit; split the note")
    target = (notes_dir / name).resolve()
    if target.parent != notes_dir.resolve():
        raise UploadRefused(f"{name!r}: would land outside the notes folder")
    tmp = target.with_name(f".{name}.upload")
    shutil.copyfile(source, tmp)
    tmp.replace(target)
    return target
