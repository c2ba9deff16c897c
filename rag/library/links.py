"""Where a passage came from, as something to click: `path:line` for terminals and editors, an
`obsidian://` link when the notes folder is an Obsidian vault, a `file://` link otherwise."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote


def location(path: str, line: int) -> str:
    """`notes/ml.md:120`: relative to the working directory when the note is under it, else absolute.
    Terminals (VS Code, iTerm2, kitty, GNOME) and editors open this form at the line."""
    shown = Path(path)
    try:
        shown = shown.resolve().relative_to(Path.cwd())
    except ValueError:
        pass
    return f"{shown}:{line}" if line else str(shown)


def note_url(path: str, source: str) -> str:
    """The link a browser page gives a note: `source` is its path inside the notes folder, so the
    folder is what is left of `path` above it; with `.obsidian/` there it is a vault."""
    note = Path(path)
    vault = note.parents[len(Path(source).parts) - 1]
    if (vault / ".obsidian").is_dir():
        name = source[: -len(".md")] if source.lower().endswith(".md") else source
        return f"obsidian://open?vault={quote(vault.name, safe='')}&file={quote(name, safe='')}"
    return note.absolute().as_uri()
