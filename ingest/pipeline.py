"""notes folder -> index on disk, touching only what changed."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunking import CHUNK_TOKENS, CHUNKER_VERSION, OVERLAP_TOKENS, Chunk, chunk_document
from ingest.documents import Document, Skipped, file_digest, image_files, list_notes, load_document
from ingest.embed import Embedder
from ingest.ocr import ImageReader, ocr_level
from ingest.store import (
    FileEntry,
    IndexCorrupt,
    Manifest,
    ingest_lock,
    load_index,
    refresh_manifest,
    verify_index,
    write_index,
)


@dataclass
class IngestStats:
    files: int = 0
    chunks: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rebuilt_because: str | None = None
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt_because)

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.chunks} chunks (+{self.added} new, {self.updated} changed, "
            f"-{self.removed} removed, {self.unchanged} unchanged) in {self.seconds:.1f} s"
        )

    def to_json(self) -> dict:
        return {
            "files": self.files,
            "chunks": self.chunks,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": [str(s) for s in self.skipped],
            "warnings": self.warnings,
            "rebuilt_because": self.rebuilt_because,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class IngestOptions:
    embedding_model: str
    chunk_tokens: int = CHUNK_TOKENS
    overlap_tokens: int = OVERLAP_TOKENS
    index_type: str = "auto"
    hnsw_above: int = 50_000
    rebuild: bool = False
    lock_wait_seconds: float = 0.0
    ocr: bool = True  # read the text of images notes embed and PDFs hold (ingest/ocr.py)


Progress = Callable[[str, int, int], None]  # (stage, done, total)


def rebuild_reason(old: Manifest | None, opts: IngestOptions) -> str | None:
    if old is None:
        return None
    if opts.rebuild:
        return "--rebuild was asked for"
    if old.embedding_model != opts.embedding_model:
        return (
            f"embedding model changed ({old.embedding_model} -> {opts.embedding_model}); every note is embedded again"
        )
    if (old.chunk_tokens, old.overlap_tokens) != (opts.chunk_tokens, opts.overlap_tokens):
        return "chunk size changed; every note is split and embedded again"
    if old.chunker != CHUNKER_VERSION:
        return "the chunker changed with this version; every note is split and embedded again"
    return None


def resolve_index_type(index_type: str, chunks: int, hnsw_above: int) -> str:
    """ "auto": exact search while it is fast enough, HNSW beyond (docs/benchmarks.md, "Retrieval at scale")."""
    if index_type != "auto":
        return index_type
    return "hnsw" if chunks > hnsw_above else "flat"


def ingest_notes(
    notes_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    opts: IngestOptions,
    progress: Progress | None = None,
) -> IngestStats:
    started = time.perf_counter()
    report = progress or (lambda stage, done, total: None)
    stats = IngestStats()
    files, stats.skipped = list_notes(notes_dir)
    with ingest_lock(index_dir, opts.lock_wait_seconds):
        try:
            # verified, not just read: a damaged index must not pass for "up to date"
            old = verify_index(index_dir)
        except IndexCorrupt as e:
            old, stats.rebuilt_because = None, f"the old index was unreadable ({e}); building a new one"
        stats.rebuilt_because = stats.rebuilt_because or rebuild_reason(old, opts)
        reuse = old if old is not None and stats.rebuilt_because is None else None
        scan = Scan(notes_dir=notes_dir, images=_image_reader(notes_dir, index_dir, opts, report))
        scan.ocr = ocr_level(opts.ocr)
        _scan(scan, files, reuse, embedder, opts, stats, report)
        if reuse:
            stats.removed = len(set(reuse.files) - set(files))

        stats.files = len(scan.entries)
        index_type = resolve_index_type(opts.index_type, len(scan.kept_ids) + len(scan.to_embed), opts.hnsw_above)
        if reuse and not stats.changed and reuse.index_type != index_type:
            # only the FAISS index is built anew from the stored vectors; nothing is embedded again
            stats.rebuilt_because = f"index type changed ({reuse.index_type} -> {index_type}); vectors reused"
        elif not stats.changed:
            if reuse and (scan.entries, scan.unreadable, scan.ocr) != (reuse.files, reuse.unreadable, reuse.ocr):
                refreshed = dataclasses.replace(reuse, files=scan.entries, unreadable=scan.unreadable, ocr=scan.ocr)
                refresh_manifest(index_dir, refreshed)
            stats.chunks = sum(len(e.chunks) for e in scan.entries.values())
            stats.seconds = time.perf_counter() - started
            return stats

        old_chunks, old_vectors = _kept(index_dir, reuse, scan.kept_ids)
        vectors = _embed_with_progress(embedder, scan.to_embed, report)
        all_chunks = old_chunks + scan.to_embed
        all_vectors = np.vstack([old_vectors, vectors]) if old_chunks else vectors
        manifest = Manifest(
            embedding_model=opts.embedding_model,
            dimension=all_vectors.shape[1] if len(all_chunks) else embedder.dimension,
            chunk_tokens=opts.chunk_tokens,
            overlap_tokens=opts.overlap_tokens,
            index_type=index_type,
            files=scan.entries,
            notes_dir=str(notes_dir.resolve()),
            chunker=CHUNKER_VERSION,
            unreadable=scan.unreadable,
            ocr=scan.ocr,
        )
        report("writing", 0, 1)
        write_index(index_dir, manifest, all_chunks, all_vectors)
        report("writing", 1, 1)
    stats.chunks = len(all_chunks)
    stats.seconds = time.perf_counter() - started
    return stats


@dataclass
class Scan:
    """What reading the notes folder found: each file's entry, what to embed, what to keep."""

    notes_dir: Path
    images: ImageReader | None = None  # None: images are not read (`ocr = false`)
    ocr: int = 0  # the OCR_VERSION images are read with now (0: not at all)
    entries: dict[str, FileEntry] = field(default_factory=dict)
    unreadable: dict[str, list[int]] = field(default_factory=dict)
    to_embed: list[Chunk] = field(default_factory=list)
    kept_ids: set[str] = field(default_factory=set)

    def keep(self, rel: str, entry: FileEntry) -> None:
        self.entries[rel] = entry
        self.kept_ids.update(entry.chunks)


def _image_reader(notes_dir: Path, index_dir: Path, opts: IngestOptions, report: Progress) -> ImageReader | None:
    if not opts.ocr:
        return None
    # the cache of what images say lives beside the index's generations, kept across them
    return ImageReader(notes_dir, index_dir / "ocr", lambda: image_files(notes_dir), report)


def _scan(scan: Scan, files: dict[str, Path], reuse, embedder: Embedder, opts: IngestOptions, stats, report) -> None:
    """Read and chunk every new or edited note; an unchanged one keeps its entry and chunks."""
    for n, (rel, path) in enumerate(files.items(), 1):
        report("reading", n, len(files))
        # stat before reading: an edit landing after the read then shows as a change next time
        st = path.stat()
        previous = reuse.files.get(rel) if reuse else None
        again = previous is not None and _read_again(previous, reuse, scan)
        if previous is not None and (previous.size, previous.mtime_ns) == (st.st_size, st.st_mtime_ns) and not again:
            scan.keep(rel, previous)
            stats.unchanged += 1
            continue
        digest = file_digest(path)
        if previous is not None and previous.sha256 == digest and not again:
            # touched, not edited: only the recorded stat changes
            scan.keep(rel, dataclasses.replace(previous, size=st.st_size, mtime_ns=st.st_mtime_ns))
            stats.unchanged += 1
            continue
        try:
            doc = load_document(path, rel, scan.images)
        except ValueError as e:
            scan.unreadable[rel] = [st.st_size, st.st_mtime_ns]
            stats.skipped.append(Skipped(rel, str(e)))
            if previous is not None:
                # an edit broke the file: keep what was indexed from it until it is fixed
                scan.keep(rel, previous)
                stats.warnings.append(f"{rel}: kept the chunks indexed from its previous version")
            continue
        if doc.warning:
            stats.warnings.append(f"{rel}: {doc.warning}")
        chunks = chunk_document(doc, embedder.count_tokens, opts.chunk_tokens, opts.overlap_tokens)
        entry = FileEntry(digest, st.st_size, [c.id for c in chunks], doc.title, doc.kind, doc.warning, st.st_mtime_ns)
        _add(scan, rel, dataclasses.replace(entry, images=_image_stats(scan.notes_dir, doc)), chunks, previous, stats)
    if scan.images:
        stats.warnings.extend(scan.images.notices())
    # an image a note shows is read with it, not an unsupported file passed over
    shown = {image for entry in scan.entries.values() for image in entry.images}
    stats.skipped = [s for s in stats.skipped if s.source not in shown]


def _add(scan: Scan, rel: str, entry: FileEntry, chunks: list[Chunk], previous: FileEntry | None, stats) -> None:
    scan.entries[rel] = entry
    # a file read again unedited (for its images) keeps the vectors of the chunks it had: same text, same place
    same = set(previous.chunks) if previous is not None and previous.sha256 == entry.sha256 else set()
    reused = {c.id for c in chunks} & same
    scan.kept_ids.update(reused)
    scan.to_embed.extend(c for c in chunks if c.id not in reused)
    if previous is None:
        stats.added += 1
    elif reused == set(previous.chunks) and len(chunks) == len(reused):
        stats.unchanged += 1
    else:
        stats.updated += 1


def _read_again(previous: FileEntry, reuse, scan: Scan) -> bool:
    """An unedited note read again: images are read differently now (Tesseract installed, or turned
    off), or an image it shows changed."""
    return (previous.kind in ("markdown", "pdf") and reuse.ocr != scan.ocr) or images_changed(scan.notes_dir, previous)


def images_changed(notes_dir: Path, entry: FileEntry) -> bool:
    """Has an image whose text was indexed with this note changed or gone? A stat per image."""
    for rel, seen in entry.images.items():
        try:
            st = (notes_dir / rel).stat()
        except OSError:
            return True
        if [st.st_size, st.st_mtime_ns] != seen:
            return True
    return False


def _image_stats(notes_dir: Path, doc: Document) -> dict[str, list[int]]:
    stats = {}
    for image in doc.images:
        if image.file is not None:
            st = (notes_dir / image.file).stat()
            stats[image.file] = [st.st_size, st.st_mtime_ns]
    return stats


def _kept(index_dir: Path, reuse, kept_ids: set[str]) -> tuple[list[Chunk], np.ndarray]:
    """The chunks (and their vectors) of the old index that stay: nothing of them is embedded again."""
    if not (reuse and kept_ids):
        return [], np.zeros((0, 0), np.float32)
    data = load_index(index_dir)
    keep = [i for i, c in enumerate(data.chunks) if c.id in kept_ids]
    return [data.chunks[i] for i in keep], data.vectors()[keep]


def _embed_with_progress(embedder: Embedder, chunks: list[Chunk], report: Progress) -> np.ndarray:
    texts = [c.embed_text for c in chunks]
    step = max(embedder.batch_size * 4, 1)
    parts = []
    for start in range(0, len(texts), step):
        report("embedding", start, len(texts))
        parts.append(embedder.embed(texts[start : start + step]))
    report("embedding", len(texts), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, embedder.dimension), np.float32)
