"""The staleness check `ask`, `retrieve`, `chat`, `interview` and the UI run before using the index: a stat
scan of the notes folder against the manifest, at 10,000 notes."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from ingest.chunking import CHUNKER_VERSION
from ingest.documents import file_digest, list_notes
from ingest.store import FileEntry, Manifest, read_manifest, write_index
from rag import Assistant

REPEATS = 7


def _timed_ms(fn) -> tuple[float, float]:
    """(best, median) of REPEATS runs: on a shared machine the best is the check's own cost."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return 1000 * min(times), 1000 * statistics.median(times)


def run(files: int = 10_000) -> dict:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        notes, index = Path(tmp) / "notes", Path(tmp) / "index"
        for n in range(files):
            path = notes / f"topic-{n // 100:03d}" / f"note-{n:05d}.md"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(
                f"# Note {n}\n\n" + f"A paragraph of note {n} about gradient descent and its step size.\n" * 20
            )
        a = Assistant(notes_dir=notes, index_dir=index)
        s = a.settings
        # The manifest an ingest of these notes writes (two chunks each); embedding 10,000 notes is not what is timed.
        found, _ = list_notes(notes)
        entries = {}
        for rel, path in found.items():
            st = path.stat()
            entries[rel] = FileEntry(
                sha256=file_digest(path),
                size=st.st_size,
                mtime_ns=st.st_mtime_ns,
                chunks=[f"{rel}#0", f"{rel}#1"],
                title=rel,
                kind="markdown",
            )
        manifest = Manifest(
            s.embedding_model,
            384,
            s.chunk_tokens,
            s.overlap_tokens,
            "flat",
            entries,
            notes_dir=str(notes.resolve()),
            chunker=CHUNKER_VERSION,
        )
        write_index(index, manifest, [], np.zeros((0, 384), np.float32))

        assert a.index_stale() is None
        current = _timed_ms(a.index_stale)
        manifest_ms = _timed_ms(lambda: read_manifest(index))
        hash_all = _timed_ms(lambda: [file_digest(p) for p in found.values()])
        edited = found["topic-042/note-04242.md"]
        edited.write_text(edited.read_text() + "One more line.\n")
        reason = a.index_stale()
        stale = _timed_ms(a.index_stale)
        assert "embedder" not in a.__dict__, "the staleness check loaded the embedding model"
    return {
        "files": files,
        "current_ms": current,
        "stale_ms": stale,
        "reason": reason,
        "manifest_ms": manifest_ms,
        "hash_all_ms": hash_all,
        "load": (load_before, os.getloadavg()[0]),
    }


def section(r: dict) -> str:
    return f"""## Staleness check

Before `ask`, `retrieve`, `chat`, `interview` and a UI question use the index (`auto_ingest`, on by default),
`Assistant.index_stale()` compares every note's size and modification time with what the manifest recorded;
only notes whose stat changed are read and hashed, by the ingest that follows. {r["files"]:,} Markdown notes in 100
folders, best and median of {REPEATS} runs, warm file-system cache (`bench/sync.py`). The machine's load average was
{r["load"][0]:.1f} at the start and {r["load"][1]:.1f} at the end (2 cores: other processes were competing for them).

| | best | median |
|---|---|---|
| check, nothing changed (walk the folder, stat each note, compare) | **{r["current_ms"][0]:.0f} ms** | {r["current_ms"][1]:.0f} ms |
| check, one note edited (says "{r["reason"]}") | {r["stale_ms"][0]:.0f} ms | {r["stale_ms"][1]:.0f} ms |
| parsing the manifest ({r["files"]:,} entries), once after each ingest; the check keeps it until the file changes | {r["manifest_ms"][0]:.0f} ms | {r["manifest_ms"][1]:.0f} ms |
| for comparison: hashing every note, as each ingest did before | {r["hash_all_ms"][0]:.0f} ms | {r["hash_all_ms"][1]:.0f} ms |

The check never loads the embedding model (the benchmark asserts it).
"""
