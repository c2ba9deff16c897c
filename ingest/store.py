"""The index on disk: chunks, their FAISS vectors and the BM25 index, written as one generation.

    index_dir/CURRENT          name of the generation in use
    index_dir/gen-*/           manifest.json, chunks.jsonl, dense.faiss, bm25/

A new generation is written beside the old one and `CURRENT` is swapped with an atomic rename, so a
crash or a full disk at any point leaves the previous index loadable.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ingest.chunking import Chunk
from ingest.errors import IndexBusy, IndexCorrupt, IndexMissing, IndexWriteError

FORMAT_VERSION = 1
CURRENT = "CURRENT"
# Above this many bytes only sizes are checked on load; hashing a multi-GB index would dominate start-up.
HASH_LIMIT = 256 * 2**20


@dataclass
class FileEntry:
    sha256: str
    size: int
    chunks: list[str]
    title: str = ""
    kind: str = ""
    warning: str | None = None
    # with the size, what the staleness check compares: a file whose stat is unchanged is not read again.
    # None in manifests from before the check; such a file is hashed once and its mtime recorded.
    mtime_ns: int | None = None
    # the images whose text was indexed with the note, by path: [size, mtime_ns]; a change re-reads the note
    images: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class Manifest:
    embedding_model: str
    dimension: int
    chunk_tokens: int
    overlap_tokens: int
    index_type: str
    files: dict[str, FileEntry] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    notes_dir: str = ""
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> sha256 or "size:N"
    version: int = FORMAT_VERSION
    chunker: int = 1  # CHUNKER_VERSION that cut these chunks; manifests from before it had version 1
    # files that could not be read, by [size, mtime_ns] when last tried: not stale until they change again
    unreadable: dict[str, list[int]] = field(default_factory=dict)
    # the OCR_VERSION images were read with (0: not read, Tesseract missing, or from before images were)
    ocr: int = 0

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        data = dict(data)
        data["files"] = {k: FileEntry(**v) for k, v in data.get("files", {}).items()}
        return cls(**data)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class IndexData:
    manifest: Manifest
    chunks: list[Chunk]
    dense: object  # faiss.Index
    bm25: object  # bm25s.BM25
    path: Path

    def vectors(self) -> np.ndarray:
        return (
            self.dense.reconstruct_n(0, self.dense.ntotal)
            if self.dense.ntotal
            else np.zeros((0, self.manifest.dimension), np.float32)
        )


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.is_file():
        return None
    return index_dir / pointer.read_text().strip()


def read_manifest(index_dir: Path) -> Manifest | None:
    gen = current_generation(index_dir)
    if gen is None:
        return None
    try:
        return Manifest.from_json(json.loads((gen / "manifest.json").read_text()))
    except (OSError, ValueError, TypeError) as e:
        raise _corrupt(index_dir, f"manifest unreadable ({e})") from None


def refresh_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Replace the current generation's manifest when only file stats changed (a note touched, not
    edited; a broken note tried again): nothing indexed changes, so no new generation is written.
    Call it holding the ingest lock."""
    # written beside the generations, not inside one: a leftover there would fail verification
    staged = index_dir / "manifest.json.tmp"
    _write_durable(staged, json.dumps(manifest.to_json(), indent=1))
    os.replace(staged, current_generation(index_dir) / "manifest.json")


def _corrupt(index_dir: Path, what: str) -> IndexCorrupt:
    return IndexCorrupt(
        f"{index_dir}: index is damaged: {what}; rebuild it with `rag ingest --rebuild --index {index_dir}`"
    )


def _checksum(path: Path) -> str:
    size = path.stat().st_size
    if size > HASH_LIMIT:
        return f"size:{size}"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tracked_files(gen: Path) -> list[Path]:
    return [p for p in sorted(gen.rglob("*")) if p.is_file() and p.name != "manifest.json"]


def verify_index(index_dir: Path) -> Manifest | None:
    """The manifest of the current generation after checking every file against it; None if no index."""
    manifest = read_manifest(index_dir)
    if manifest is None:
        return None
    gen = current_generation(index_dir)
    if manifest.version != FORMAT_VERSION:
        raise _corrupt(index_dir, f"format version {manifest.version}, this build reads {FORMAT_VERSION}")
    for path in _tracked_files(gen):
        rel = path.relative_to(gen).as_posix()
        expected = manifest.checksums.get(rel)
        if expected is None or _checksum(path) != expected:
            raise _corrupt(index_dir, f"{rel} does not match its checksum")
    missing = [rel for rel in manifest.checksums if not (gen / rel).is_file()]
    if missing:
        raise _corrupt(index_dir, f"missing {', '.join(missing)}")
    return manifest


def load_index(index_dir: Path) -> IndexData:
    import faiss

    bm25s = _bm25s()

    manifest = verify_index(index_dir)
    if manifest is None:
        raise IndexMissing(f"{index_dir}: no index yet; build it with `rag ingest NOTES_DIR --index {index_dir}`")
    gen = current_generation(index_dir)
    try:
        with (gen / "chunks.jsonl").open() as f:
            chunks = [Chunk(**json.loads(line)) for line in f]
        dense = faiss.read_index(str(gen / "dense.faiss"))
        bm25 = bm25s.BM25.load(str(gen / "bm25"), mmap=False, show_progress=False, verbosity=0) if chunks else None
    except Exception as e:  # any reader failure means the same thing to the user
        raise _corrupt(index_dir, f"{type(e).__name__}: {e}") from None
    if dense.ntotal != len(chunks):
        raise _corrupt(index_dir, f"{dense.ntotal} vectors for {len(chunks)} chunks")
    return IndexData(manifest=manifest, chunks=chunks, dense=dense, bm25=bm25, path=gen)


# Markdown's underscore emphasis ("_Dropout layers_ are used…"): bm25s counts "_" as a word character, so
# "_dropout" and "layers_" were tokens no question matches. Only at a word's edge: "n_estimators" stays
EDGE_UNDERSCORES = re.compile(r"(?<!\w)_+|_+(?!\w)")


def bm25_tokenize(texts: list[str]):
    texts = [EDGE_UNDERSCORES.sub(" ", t) for t in texts]
    return _bm25s().tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


@lru_cache(maxsize=1)
def _bm25s():
    """bm25s, imported without numba: it imports numba when installed (vLLM brings it) only to offer a
    backend these indexes do not use (they are saved with `numpy`), which costs a question 0.1-0.3 s."""
    hidden = "numba" not in sys.modules
    if hidden:
        sys.modules["numba"] = None  # `import numba` raises ImportError, and bm25s takes its numpy path
    try:
        import bm25s
    finally:
        if hidden:
            del sys.modules["numba"]  # anything else in the process may still import it
    return bm25s


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def build_dense(vectors: np.ndarray, dimension: int, index_type: str):
    import faiss

    if index_type == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_index(index_dir: Path, manifest: Manifest, chunks: list[Chunk], vectors: np.ndarray) -> Path:
    """Write a complete new generation, then make it current. Returns the generation folder."""
    import faiss

    bm25s = _bm25s()

    index_dir.mkdir(parents=True, exist_ok=True)
    gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    try:
        gen.mkdir()
        with (gen / "chunks.jsonl").open("w") as f:
            for chunk in chunks:
                f.write(json.dumps(dataclasses.asdict(chunk), ensure_ascii=False) + "\n")
        faiss.write_index(build_dense(vectors, manifest.dimension, manifest.index_type), str(gen / "dense.faiss"))
        if chunks:
            bm25 = bm25s.BM25()
            bm25.index(bm25_tokenize([c.embed_text for c in chunks]), show_progress=False)
            bm25.save(str(gen / "bm25"), show_progress=False)
        manifest.checksums = {p.relative_to(gen).as_posix(): _checksum(p) for p in _tracked_files(gen)}
        _write_durable(gen / "manifest.json", json.dumps(manifest.to_json(), indent=1))
        _fsync_tree(gen)
        _write_durable(index_dir / (CURRENT + ".tmp"), gen.name)
        os.replace(index_dir / (CURRENT + ".tmp"), index_dir / CURRENT)
        _fsync_dir(index_dir)
    except OSError as e:
        shutil.rmtree(gen, ignore_errors=True)
        reason = "disk full" if e.errno == errno.ENOSPC else f"{e.strerror or e}"
        raise IndexWriteError(
            f"{index_dir}: could not write the new index ({reason}); the previous index is unchanged — free "
            "space and run `rag ingest` again"
        ) from e
    remove_stale_generations(index_dir)
    return gen


def remove_stale_generations(index_dir: Path) -> None:
    """Old generations and the leftovers of interrupted writes; the lock keeps a running ingest's own folder safe."""
    current = current_generation(index_dir)
    for path in index_dir.glob("gen-*"):
        if path != current:
            shutil.rmtree(path, ignore_errors=True)


def _write_durable(path: Path, text: str) -> None:
    with path.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def ingest_lock(index_dir: Path, wait_seconds: float = 0.0):
    """One writer at a time; a second ingest waits up to `wait_seconds`, then refuses clearly."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock_path = index_dir / ".lock"
    with lock_path.open("a+") as f:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    f.seek(0)
                    holder = f.read().strip() or "another process"
                    raise IndexBusy(
                        f"{index_dir}: another ingest is running ({holder}); wait for it to finish or pass "
                        "--wait SECONDS"
                    ) from None
                time.sleep(0.2)
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)
