"""Text in images: pasted diagrams and slide screenshots a note embeds, and the images inside PDFs
(a scanned page is nothing else), read with Tesseract OCR.

Tesseract runs as Debian's `tesseract` binary through pytesseract. A result is cached by the image's
content hash beside the index, so a re-ingest never reads the same picture twice. Where the binary is
missing the images are passed over with one notice, and everything else is read as before.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from ingest.control_chars import strip_control

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
IMAGE_HEADING = "image: "  # the heading under which an image's text is indexed: "note > Section > image: x.png"
# Bumped when images are read differently. An index made by an earlier version, or while Tesseract was
# missing, re-reads its notes once; only chunks whose text changed are embedded again.
OCR_VERSION = 1
LANGUAGE = "eng"
NOT_INSTALLED = "images not read: tesseract is not installed; install tesseract-ocr"
# Tesseract reads noise in photos and plots as stray marks ("| ~ ."): no two real words, no text
WORD = re.compile(r"[A-Za-z]{3,}")
TIMEOUT_SECONDS = 120


@dataclass
class ImageText:
    """What an image says, and where it sits in its document."""

    name: str  # as the note names it, or the PDF's name for it
    line: int  # index into Document.lines of the line that embeds it
    text: str  # one line: every line of a document keeps its place in the file
    file: str | None = None  # the image's path in the notes folder; None for an image inside a PDF


def ocr_level(enabled: bool) -> int:
    """The OCR_VERSION an ingest reads images with now; 0 when it cannot read them."""
    return OCR_VERSION if enabled and shutil.which("tesseract") else 0


def is_image(target: str) -> bool:
    return Path(target).suffix.lower() in IMAGE_SUFFIXES


@dataclass
class ImageReader:
    """Reads images for one ingest: finds an embed's file the way Obsidian does, runs Tesseract on what
    the cache has not seen, and collects what the user should hear about."""

    notes_dir: Path
    cache_dir: Path
    list_images: Callable[[], Iterable[str]]  # every image's path in the notes folder, asked for once
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None
    warnings: list[str] = field(default_factory=list)
    missing: bool = False  # Tesseract was needed and not found
    read: int = 0
    _by_name: dict[str, list[str]] | None = None

    def embed(self, target: str, note: str, line: int) -> ImageText | None:
        """The text of an image a note embeds (`![[x.png|300]]`, `![alt](img/x%20y.png)`), or None."""
        name = unquote(target.split("|")[0].split("#")[0]).strip()
        if not is_image(name) or "://" in name:
            return None
        rel = self._resolve(name, note)
        if rel is None:
            # notes copied without their attachments are common (the shipped ones are): no text, no warning,
            # as Obsidian shows a placeholder and goes on
            return None
        try:
            data = (self.notes_dir / rel).read_bytes()
        except OSError as e:
            self.warnings.append(f"{note}: image {rel} unreadable ({e.strerror}); its text is not indexed")
            return None
        text = self.text(data, f"{note}: image {rel}")
        return ImageText(name=Path(name).name, line=line, text=text, file=rel) if text else None

    def text(self, data: bytes, what: str) -> str:
        """An image's words on one line ("" when it holds none, or Tesseract is missing)."""
        if self.missing:
            return ""
        cached = self.cache_dir / f"{hashlib.sha256(data).hexdigest()}-{LANGUAGE}.txt"
        if cached.is_file():
            return cached.read_text(encoding="utf-8")
        words = self._tesseract(data, what)
        if words is None:
            return ""
        text = _one_line(words)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        staged = cached.with_suffix(".tmp")
        staged.write_text(text, encoding="utf-8")
        staged.replace(cached)  # a killed ingest leaves no half-written result to trust
        return text

    def _tesseract(self, data: bytes, what: str) -> str | None:
        import pytesseract
        from PIL import Image, UnidentifiedImageError

        self.progress("reading images", self.read, self.read + 1)
        try:
            with Image.open(io.BytesIO(data)) as image:
                words = pytesseract.image_to_string(image, lang=LANGUAGE, timeout=TIMEOUT_SECONDS)
        except pytesseract.TesseractNotFoundError:
            self.missing = True
            return None
        except (UnidentifiedImageError, OSError, RuntimeError, pytesseract.TesseractError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            self.warnings.append(f"{what} could not be read ({reason}); its text is not indexed — re-save it as PNG")
            return None
        self.read += 1
        self.progress("reading images", self.read, self.read)
        return words

    def _resolve(self, name: str, note: str) -> str | None:
        """Obsidian's order: the path as written (from the vault, then from the note's folder), else a
        file of that name anywhere in the vault (an attachments folder), the shortest path first."""
        images = self._images()
        for candidate in (name, posixpath.join(posixpath.dirname(note), name)):
            normal = posixpath.normpath(candidate)
            if normal in images.get(posixpath.basename(normal).casefold(), []):
                return normal
        same_name = images.get(Path(name).name.casefold(), [])
        return min(same_name, key=lambda rel: (rel.count("/"), rel)) if same_name else None

    def _images(self) -> dict[str, list[str]]:
        if self._by_name is None:
            self._by_name = {}
            for rel in self.list_images():
                self._by_name.setdefault(Path(rel).name.casefold(), []).append(rel)
        return self._by_name

    def notices(self) -> list[str]:
        return ([NOT_INSTALLED] if self.missing else []) + self.warnings


def _one_line(words: str) -> str:
    words = re.sub(r"(\w)-\n(\w)", r"\1\2", strip_control(words))  # a word hyphenated across lines
    text = " ".join(words.split())
    return text if len(WORD.findall(text)) >= 2 else ""
