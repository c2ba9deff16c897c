"""Notes uploaded through the browser land in the notes folder, under a name that cannot escape it."""

from __future__ import annotations

import filecmp
import itertools
import os
import re
import shutil
import uuid
from dataclasses import dataclass
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


def check_content(name: str, source: Path) -> None:
    """Refuse a file that is not what its name says: the ingest would skip it on every run, so it must
    not reach the notes folder. A PDF starts with `%PDF-` (readers allow junk in the first 1 KB); a text
    note is UTF-8 without NUL bytes."""
    data = source.read_bytes()
    if name.lower().endswith(".pdf"):
        if b"%PDF-" not in data[:1024]:
            raise UploadRefused(f"{name!r}: not a PDF (no %PDF header); export it as PDF again")
        return
    if b"\x00" in data:
        raise UploadRefused(f"{name!r}: binary data, not a text note; upload the note itself (.md, .txt or .pdf)")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UploadRefused(f"{name!r}: not UTF-8 text (line {line}); save it as UTF-8 and upload it again") from None


@dataclass
class Saved:
    path: Path
    said: str  # the result box's line: under which name it was saved, or that nothing changed


def save_upload(notes_dir: Path, name: str, source: Path, max_bytes: int) -> Saved:
    """Copy an uploaded temp file into the notes folder. A note of that name is never replaced: the same
    content is left as it is, another is saved beside it as "name (2).md", as browsers save downloads.
    Replacing would lose whatever was edited in the note since; refusing would leave the user to rename
    the file by hand for an upload that is plainly meant to be kept."""
    name = safe_name(name)
    size = source.stat().st_size
    if size > max_bytes:
        raise UploadRefused(f"{name!r}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit; split the note")
    check_content(name, source)
    if (notes_dir / name).resolve().parent != notes_dir.resolve():
        raise UploadRefused(f"{name!r}: would land outside the notes folder")
    # hidden, so an ingest running meanwhile does not read it; a name of its own, as uploads run side by
    # side (not mkstemp: its 0600 mode would become the note's)
    tmp = notes_dir / f".{uuid.uuid4().hex}.upload"
    shutil.copyfile(source, tmp)
    try:
        stem, suffix = Path(name).stem, Path(name).suffix
        for n in itertools.count(1):
            target = notes_dir / (name if n == 1 else f"{stem} ({n}){suffix}")
            if target.is_file() and filecmp.cmp(target, tmp, shallow=False):
                return Saved(target, f"{target.name} is already in the notes folder, unchanged")
            try:
                os.link(tmp, target)  # never over an existing file, even one saved a moment ago
            except FileExistsError:
                continue
            except OSError:  # a filesystem without hard links (exFAT, some network shares)
                if target.exists():
                    continue
                tmp.replace(target)
            kept = "" if n == 1 else f" (another {name} is already in the notes folder; both are kept)"
            return Saved(target, f"Saved {target.name}{kept}")
    finally:
        tmp.unlink(missing_ok=True)
