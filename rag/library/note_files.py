"""Reading a note by the path a client names, only ever inside the notes folder.

MCP clients pass paths that a model wrote, so every name is checked before anything is opened: an
absolute path, a `..` step, a hidden file, a symlink whose target lies outside the folder, or a file
type the ingest does not read is refused with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from ingest.documents import SUPPORTED, list_notes, load_document, read_text
from ingest.sections import sections
from rag.errors import NoteRefused


@dataclass
class NoteText:
    source: str  # relative to the notes folder, with `/`, as in sources and search results
    title: str
    heading: str | None  # the heading path read, or None for the whole note
    lines: tuple[int, int]  # 1-based, inclusive
    text: str

    def to_json(self) -> dict:
        return asdict(self)


def resolve_note(notes_dir: Path, name: str) -> tuple[str, Path]:
    """(source, file) for a client-supplied name, or `NoteRefused`."""
    relative = PurePosixPath(name.replace("\\", "/"))
    if not name.strip() or "\x00" in name:
        raise NoteRefused("give a note's path relative to the notes folder, e.g. from list_notes")
    if relative.is_absolute():
        raise NoteRefused(
            f"{name}: absolute paths are refused; give the path relative to the notes folder (see list_notes)"
        )
    if ".." in relative.parts:
        raise NoteRefused(f"{name}: '..' leads out of the notes folder; refused")
    if any(part.startswith(".") for part in relative.parts):
        raise NoteRefused(f"{name}: hidden files and folders (.obsidian, .git) are not notes; refused")
    root = notes_dir.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise NoteRefused(f"{name}: a symlink to {path}, outside the notes folder; refused")
    if path.suffix.lower() not in SUPPORTED:
        raise NoteRefused(f"{name}: not a note (only {', '.join(sorted(SUPPORTED))} files are read)")
    if not path.is_file():
        raise NoteRefused(f"{name}: no such note in {notes_dir}; list_notes shows what there is")
    return relative.as_posix(), path


def read_note(notes_dir: Path, name: str, heading: str | None = None) -> NoteText:
    """The note as written (a PDF: its extracted text), or the section under `heading` (a heading, or
    the end of a heading path: "Batch Normalization", "Regularization > Dropout") with its
    sub-sections. Sections are found as the ingest finds them, so the line spans match the chunks'."""
    source, path = resolve_note(notes_dir, name)
    try:
        doc = load_document(path, source)
    except ValueError as e:
        raise NoteRefused(f"{source}: {e}") from None
    # line n of the file is lines[n - 1]: section spans count from the top of the file, front matter included;
    # read as the ingest reads it, so a note's escape sequences never reach a client (or its terminal)
    lines = doc.lines if doc.kind == "pdf" else read_text(path)[0].split("\n")
    wanted = [w.strip().lower() for w in (heading or "").split(">") if w.strip()]
    # the title is the top of every heading path, as sources show them ("Regularization > Dropout")
    if wanted in ([], [doc.title.lower()]):
        return NoteText(source, doc.title, None, (1, len(lines)), "\n".join(lines))
    parts = sections(doc)
    for i, section in enumerate(parts):
        if section.path and [p.lower() for p in [doc.title, *section.path]][-len(wanted) :] == wanted:
            # sub-sections follow their section in the file: the span runs until the path changes
            end = next(
                (j for j, s in enumerate(parts[i:]) if s.path[: len(section.path)] != section.path), len(parts) - i
            )
            first, last = section.start, parts[i + end - 1].end
            while last > first and not lines[last - 1].strip():
                last -= 1
            return NoteText(
                source, doc.title, " > ".join(section.path), (first, last), "\n".join(lines[first - 1 : last])
            )
    known = list(dict.fromkeys(" > ".join(s.path) for s in parts if s.path))
    raise NoteRefused(f"{source} has no heading {heading!r}; its headings include: {'; '.join(known[:25])}")


def note_files(notes_dir: Path) -> dict[str, Path]:
    """The notes an ingest would read, by source."""
    found, _ = list_notes(notes_dir)
    return found
