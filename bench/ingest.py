"""Ingest cost: a full build of the shipped notes, a no-op re-ingest, and one changed file."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag import Assistant

REPO = Path(__file__).resolve().parent.parent


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        notes = Path(tmp) / "notes"
        shutil.copytree(REPO / "notes", notes)
        index = Path(tmp) / "index"
        a = Assistant(notes_dir=notes, index_dir=index)
        a.embedder.embed(["warm up"])  # model load is a one-off, not a per-chunk cost
        full = a.ingest()
        noop = min(a.ingest().seconds for _ in range(3))
        rag = str(Path(sys.executable).parent / "rag")
        walls = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([rag, "ingest", str(notes), "--index", str(index)], check=True, capture_output=True)
            walls.append(time.perf_counter() - started)
        with (notes / "life-as-an-ml-engineer.md").open("a") as f:
            f.write("\n## one more section\nA line added to time a re-ingest of one changed file.\n")
        changed = a.ingest()
    return {
        "files": full.files,
        "chunks": full.chunks,
        "full_s": full.seconds,
        "chunks_per_s": full.chunks / full.seconds,
        "noop_s": noop,
        "noop_cli_s": min(walls),
        "changed_s": changed.seconds,
        "changed_embedded": changed.updated,
    }
