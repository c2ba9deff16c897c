"""Read a notes folder into `Document`s: Markdown, plain text and PDF.

A file that cannot be read becomes a `Skipped` entry with a one-line reason and fix; it never stops
the rest of the folder from being read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from ingest.control_chars import strip_control
from ingest.errors import NotesFolderError
from ingest.markdown import clean_markdown
from ingest.ocr import IMAGE_SUFFIXES, ImageReader, ImageText

MARKDOWN = {".md", ".markdown"}
TEXT = {".txt", ".text"}
PDF = {".pdf"}
SUPPORTED = MARKDOWN | TEXT | PDF
MAX_FILE_BYTES = 20 * 1024 * 1024
# a front-matter block: from the opening --- to the first closing --- (or ...) line
FRONT_MATTER_BLOCK = re.compile(r"---\n.*?^(?:---|\.\.\.)[ \t]*$\n?", re.DOTALL | re.MULTILINE)


@dataclass
class Document:
    source: str  # path relative to the notes folder, with `/`
    kind: str  # "markdown" | "text" | "pdf"
    title: str
    lines: list[str]
    first_line: int = 1  # line number of lines[0] in the file (front matter comes before)
    metadata: dict = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    warning: str | None = None  # read, but with something the user should fix
    images: list[ImageText] = field(default_factory=list)  # text read from the images it embeds or holds


@dataclass
class Skipped:
    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def list_notes(notes_dir: Path) -> tuple[dict[str, Path], list[Skipped]]:
    """Supported files under `notes_dir` by relative path, and what was passed over and why."""
    entries, skipped = note_entries(notes_dir)
    return {rel: Path(entry.path) for rel, entry in entries.items()}, skipped


def note_entries(notes_dir: Path) -> tuple[dict[str, os.DirEntry], list[Skipped]]:
    """`list_notes` without building a `Path` per file, which costs more than the scan itself: the
    staleness check runs this before every question and stats the entries directly."""
    if not notes_dir.is_dir():
        raise NotesFolderError(
            f"{notes_dir}: notes folder not found; pass an existing folder (rag ingest PATH) or set notes_dir"
        )
    root = notes_dir.resolve()
    found: dict[str, os.DirEntry] = {}
    skipped: list[Skipped] = []
    for parts, entry in walk_vault(notes_dir):
        rel = "/".join(parts)
        if entry.is_symlink():
            target = Path(entry.path).resolve()
            if not target.is_relative_to(root):
                skipped.append(
                    Skipped(
                        rel, f"symlink leads outside the notes folder (to {target}); skipped — copy the file in instead"
                    )
                )
                continue
        if not entry.is_file():
            continue
        suffix = os.path.splitext(entry.name)[1]
        if suffix.lower() not in SUPPORTED:
            skipped.append(
                Skipped(
                    rel,
                    f"unsupported file type {suffix or '(none)'}; skipped — only .md, .txt and .pdf are read, "
                    "and images where a note embeds them",
                )
            )
            continue
        found[rel] = entry
    return found, skipped


def image_files(notes_dir: Path) -> list[str]:
    """Every image in the notes folder, by relative path: what a note's embed may name."""
    return [
        "/".join(parts)
        for parts, entry in walk_vault(notes_dir)
        if os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and entry.is_file()
    ]


def walk_vault(notes_dir: Path) -> list[tuple[tuple[str, ...], os.DirEntry]]:
    """Everything under the folder but directories, by relative path parts, in path order. Hidden
    names (.obsidian/, .git/, editor swap files) are passed over, and symlinked folders not entered.
    os.scandir rather than Path.rglob: the staleness check runs this before every question, and
    scandir's entries know their type without another system call (about 4x faster at 10,000 files)."""
    found: list[tuple[tuple[str, ...], os.DirEntry]] = []
    folders: list[tuple[Path | str, tuple[str, ...]]] = [(notes_dir, ())]
    while folders:
        folder, parts = folders.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append((entry.path, (*parts, entry.name)))
                else:
                    found.append(((*parts, entry.name), entry))
    return sorted(found, key=lambda item: item[0])


def load_document(path: Path, source: str, images: ImageReader | None = None) -> Document:
    """Raises `ValueError` with a user-facing reason when the file cannot be used at all. With `images`,
    the text of the images a note embeds (or a PDF holds) is read too."""
    size = path.stat().st_size
    if size == 0:
        raise ValueError("empty file; skipped — add some text or delete it")
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"file is {size / 2**20:.0f} MB, over the {MAX_FILE_BYTES // 2**20} MB limit; skipped — split it "
            "into smaller notes"
        )
    suffix = path.suffix.lower()
    if suffix in PDF:
        return _load_pdf(path, source, images)
    text, warning = read_text(path)
    if not text.strip():
        raise ValueError("file has only white space; skipped — add some text or delete it")
    if suffix in MARKDOWN:
        doc = _load_markdown(text, source, images)
        doc.warning = "; ".join(w for w in (warning, doc.warning) if w) or None
        return doc
    return Document(source=source, kind="text", title=Path(source).stem, lines=text.split("\n"), warning=warning)


def read_text(path: Path) -> tuple[str, str | None]:
    """A text note's content as every reader of it gets it (the ingest, `read_note`): newlines unified,
    terminal control sequences out; and a warning when some bytes were not UTF-8. Raises `ValueError`
    for binary data."""
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ValueError(f"binary data in a {path.suffix.lower()} file; skipped — is it really a text note?")
    warning = None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        # A few bad bytes (a Latin-1 "é" pasted into a UTF-8 note) used to cost the whole note. They are
        # read as U+FFFD instead, every other line as written and where it was; binary data was refused above.
        text = raw.decode("utf-8-sig", errors="replace")
        bad, line = text.count("\ufffd"), raw[: e.start].count(b"\n") + 1
        warning = (
            f"not valid UTF-8 at line {line} ({bad} bad byte{'s' if bad > 1 else ''} read as U+FFFD, �); "
            "read the rest — re-save the file as UTF-8"
        )
    return strip_control(text.replace("\r\n", "\n").replace("\r", "\n")), warning


def _load_markdown(text: str, source: str, images: ImageReader | None = None) -> Document:
    stem = Path(source).stem
    meta: dict = {}
    warning = None
    body = text
    if text.startswith("---\n"):
        try:
            post = frontmatter.loads(text)
            meta = dict(post.metadata)
            body = post.content
        except (yaml.YAMLError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            warning = f"broken front matter ({first}); read the text without it — fix the YAML between the --- lines"
            # the block is metadata that failed to parse, not note text: its `key: value` lines stay out
            block = FRONT_MATTER_BLOCK.match(text)
            body = text[block.end() :] if block else text
    first_line = 1
    if body is not text:
        # frontmatter strips the block and the blank line after it; count what went to keep line numbers true
        offset = text.find(body) if body else len(text)
        first_line = text[:offset].count("\n") + 1 if offset >= 0 else 1
    clean = clean_markdown(body)
    tags = _as_list(meta.get("tags")) + clean.tags
    meta = {k: _plain(v) for k, v in meta.items() if v not in (None, "", [])}
    if clean.embeds:
        meta["embeds"] = clean.embeds
    title = str(meta.get("title") or stem)
    return Document(
        source=source,
        kind="markdown",
        title=title,
        lines=clean.lines,
        first_line=first_line,
        metadata=meta,
        tags=list(dict.fromkeys(t.lstrip("#") for t in tags if t)),
        warning=warning,
        images=[t for line, target in clean.embed_lines if images and (t := images.embed(target, source, line))],
    )


def _load_pdf(path: Path, source: str, images: ImageReader | None = None) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
        pages = [strip_control(page.extract_text() or "") for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as e:
        raise ValueError(
            f"unreadable PDF ({type(e).__name__}: {e}); skipped — re-export it or convert it to text"
        ) from None
    lines: list[str] = []
    found: list[ImageText] = []
    for number, page in enumerate(pages, 1):
        # a page break is a section boundary the text splitter recognises
        lines.extend([f"PAGE {number}", ""] + page.split("\n") + [""])
        if images:
            # a page's images are read at its end: a scanned page is nothing but one
            found.extend(_pdf_images(reader.pages[number - 1], number, len(lines) - 1, source, images))
    if not any(p.strip() for p in pages) and not found:
        fix = "install tesseract-ocr to read it" if images and images.missing else "run OCR on it first"
        raise ValueError(f"PDF has no extractable text (scanned?); skipped — {fix}")
    meta = {}
    if reader.metadata and reader.metadata.title:
        meta["title"] = strip_control(str(reader.metadata.title))
    title = meta.get("title") or Path(source).stem
    return Document(source=source, kind="pdf", title=title, lines=lines, metadata=meta, images=found)


def _pdf_images(page, number: int, line: int, source: str, images: ImageReader) -> list[ImageText]:
    from pypdf.errors import PdfReadError

    try:
        pictures = list(page.images)
    except (PdfReadError, ValueError, KeyError, OSError, NotImplementedError) as e:
        images.warnings.append(f"{source}: the images on page {number} could not be taken out ({e}); not read")
        return []
    texts = [(p.name, images.text(p.data, f"{source}: image {p.name} on page {number}")) for p in pictures]
    return [ImageText(name=name, line=line, text=text) for name, text in texts if text]


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.replace(",", " ").split() if t.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _plain(value):
    """Front matter values as JSON-safe data (YAML gives dates)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
