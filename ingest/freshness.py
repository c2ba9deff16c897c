"""Is the index behind its notes folder? A stat scan against the manifest: nothing is read, hashed or
embedded, so asking before every question costs milliseconds (docs/benchmarks.md, "Staleness check")."""

from __future__ import annotations

from pathlib import Path

from ingest.documents import note_entries
from ingest.ocr import ocr_level
from ingest.pipeline import IngestOptions, images_changed, rebuild_reason
from ingest.store import Manifest


def stale_reason(notes_dir: Path, manifest: Manifest | None, opts: IngestOptions) -> str | None:
    """Why the index needs an ingest ("2 notes changed, 1 added"), or None when it is current."""
    if manifest is None:
        return "no index yet"
    if reason := rebuild_reason(manifest, opts):
        return reason
    if manifest.ocr < ocr_level(opts.ocr):
        return "images in notes not read yet (Tesseract is installed now)"
    files, _ = note_entries(notes_dir)
    added = changed = 0
    for rel, entry in files.items():
        st = entry.stat()
        seen = [st.st_size, st.st_mtime_ns]
        if manifest.unreadable.get(rel) == seen:
            continue  # tried in this state already and could not be read
        entry = manifest.files.get(rel)
        if entry is None:
            added += 1
        elif [entry.size, entry.mtime_ns] != seen or images_changed(notes_dir, entry):
            changed += 1
    removed = len(manifest.files.keys() - files.keys())
    parts = [
        f"{count} {what}" for count, what in ((changed, "changed"), (added, "added"), (removed, "removed")) if count
    ]
    return "notes " + ", ".join(parts) if parts else None
