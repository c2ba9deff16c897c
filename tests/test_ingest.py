"""Incremental ingest, atomic writes, corruption detection and the writer lock, on a real index."""

import json
import multiprocessing
import os
import time

import pytest
from helpers import write

import ingest.store as store
from ingest.chunking import CHUNKER_VERSION
from ingest.errors import IndexBusy, IndexCorrupt, IndexWriteError
from ingest.store import current_generation, ingest_lock

NOTE_A = "# Dropout\nDropout randomly zeroes activations during training to prevent co-adaptation.\n"
NOTE_B = "# Momentum\nMomentum accumulates an exponentially decaying average of past gradients.\n"
NOTE_C = "1. KERNELS\n\nA kernel is a small matrix that slides across the image.\n"


def ids_by_source(a):
    out = {}
    for c in a.index.chunks:
        out.setdefault(c.source, set()).add(c.id)
    return out


def test_add_change_delete_touch_only_what_changed(make_assistant, notes_dir, monkeypatch):
    write(notes_dir, "a.md", NOTE_A)
    write(notes_dir, "b.md", NOTE_B)
    a = make_assistant()
    first = a.ingest()
    assert (first.files, first.added, first.updated, first.removed) == (2, 2, 0, 0)
    before = ids_by_source(a)

    embedded: list[str] = []
    original = a.embedder.embed
    monkeypatch.setattr(a.embedder, "embed", lambda texts, progress=False: embedded.extend(texts) or original(texts))

    noop = a.ingest()
    assert not noop.changed and noop.unchanged == 2 and embedded == []

    write(notes_dir, "c.txt", NOTE_C)
    write(notes_dir, "b.md", NOTE_B + "\nNesterov momentum looks ahead before computing the gradient.\n")
    (notes_dir / "a.md").unlink()
    stats = a.ingest()
    assert (stats.added, stats.updated, stats.removed, stats.unchanged) == (1, 1, 1, 0)
    assert all("Dropout" not in t for t in embedded)  # only new and changed files were embedded
    assert any("Nesterov" in t for t in embedded) and any("kernel" in t for t in embedded)
    after = ids_by_source(a)
    assert set(after) == {"b.md", "c.txt"}
    assert after["b.md"] != before["b.md"]
    hits = a.retrieve("looking ahead before the gradient step", k=1)
    assert hits[0].source == "b.md"
    assert not any(h.source == "a.md" for h in a.retrieve("dropout co-adaptation", k=5))


def test_unchanged_files_keep_their_vectors(make_assistant, notes_dir):
    write(notes_dir, "a.md", NOTE_A)
    a = make_assistant()
    a.ingest()
    vector_before = a.index.vectors()[0].copy()
    write(notes_dir, "b.md", NOTE_B)
    a.ingest()
    data = a.index
    row = [i for i, c in enumerate(data.chunks) if c.source == "a.md"][0]
    assert (data.vectors()[row] == vector_before).all()


def test_changed_embedding_settings_force_rebuild(make_assistant, notes_dir):
    write(notes_dir, "a.md", NOTE_A)
    make_assistant().ingest()
    stats = make_assistant(chunk_tokens=120).ingest()
    assert stats.rebuilt_because and "chunk size changed" in stats.rebuilt_because
    assert make_assistant(chunk_tokens=120).ingest().rebuilt_because is None
    rebuilt = make_assistant(chunk_tokens=120).ingest(rebuild=True)
    assert rebuilt.rebuilt_because == "--rebuild was asked for" and rebuilt.changed


def test_index_cut_by_an_older_chunker_is_split_again(make_assistant, notes_dir):
    write(notes_dir, "a.md", NOTE_A)
    a = make_assistant()
    a.ingest()
    manifest = current_generation(a.index_dir) / "manifest.json"
    older = json.loads(manifest.read_text()) | {"chunker": CHUNKER_VERSION - 1}
    manifest.write_text(json.dumps(older))
    stats = make_assistant().ingest()
    assert stats.rebuilt_because and "chunker changed" in stats.rebuilt_because and stats.changed
    assert make_assistant().ingest().rebuilt_because is None


def test_bad_files_are_reported_and_the_rest_ingested(make_assistant, notes_dir, tmp_path):
    write(notes_dir, "good.md", NOTE_A)
    write(notes_dir, "fake.md", b"\x00\x01\x02binary")
    write(notes_dir, "latin.txt", "caf\xe9".encode("latin-1"))
    write(notes_dir, "empty.md", "")
    write(notes_dir, "front.md", "---\ntitle: [oops\n---\nStill useful text about regularisation.\n")
    (notes_dir / "escape.md").symlink_to(write(tmp_path, "outside.md", "# outside\n"))
    stats = make_assistant().ingest()
    skipped = {s.source for s in stats.skipped}
    assert skipped == {"fake.md", "empty.md", "escape.md"}
    assert stats.files == 3  # good.md, front.md and latin.txt (its bad byte read as U+FFFD, with a warning)
    assert any("front.md" in w and "front matter" in w for w in stats.warnings)
    assert any(w.startswith("latin.txt: not valid UTF-8") for w in stats.warnings)


def test_a_file_broken_by_an_edit_keeps_its_old_chunks(make_assistant, notes_dir):
    write(notes_dir, "a.md", NOTE_A)
    write(notes_dir, "b.md", NOTE_B)
    a = make_assistant()
    a.ingest()
    write(notes_dir, "a.md", b"\xff\xfe broken \x00")
    stats = a.ingest()
    assert any(s.source == "a.md" for s in stats.skipped)
    assert any("kept the chunks" in w for w in stats.warnings)
    assert a.retrieve("dropout co-adaptation", k=1)[0].source == "a.md"


def test_crash_while_writing_leaves_previous_index_usable(make_assistant, notes_dir, monkeypatch):
    write(notes_dir, "a.md", NOTE_A)
    a = make_assistant()
    a.ingest()
    good_generation = current_generation(a.index_dir)
    write(notes_dir, "b.md", NOTE_B)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("simulated kill while saving BM25")

    monkeypatch.setattr(store, "_fsync_tree", crash)
    with pytest.raises(KeyboardInterrupt):
        a.ingest()
    monkeypatch.undo()
    assert current_generation(a.index_dir) == good_generation
    fresh = make_assistant(auto_ingest=False)  # the index as the crash left it, not brought up to date
    assert [h.source for h in fresh.retrieve("dropout", k=5)] == ["a.md"]
    # the next ingest cleans up the half-written generation and finishes the job
    stats = fresh.ingest()
    assert stats.added == 1
    assert len(list(a.index_dir.glob("gen-*"))) == 1


def test_disk_full_is_reported_and_old_index_kept(make_assistant, notes_dir, monkeypatch):
    import errno

    write(notes_dir, "a.md", NOTE_A)
    a = make_assistant()
    a.ingest()
    write(notes_dir, "b.md", NOTE_B)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "_write_durable", full)
    with pytest.raises(IndexWriteError, match="disk full.*previous index is unchanged"):
        a.ingest()
    monkeypatch.undo()
    assert [h.source for h in make_assistant(auto_ingest=False).retrieve("dropout", k=5)] == ["a.md"]
    assert len(list(a.index_dir.glob("gen-*"))) == 1


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupted_index_is_detected_with_rebuild_command(make_assistant, notes_dir, damage):
    write(notes_dir, "a.md", NOTE_A)
    a = make_assistant()
    a.ingest()
    target = current_generation(a.index_dir) / "dense.faiss"
    data = bytearray(target.read_bytes())
    if damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:
        data[-5] ^= 0xFF
        target.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="rag ingest --rebuild"):
        make_assistant().retrieve("dropout")
    # ingest notices, rebuilds from the notes, and retrieval works again
    stats = make_assistant().ingest()
    assert stats.rebuilt_because and "unreadable" in stats.rebuilt_because
    assert make_assistant().retrieve("dropout", k=1)[0].source == "a.md"


def _hold_lock(index_dir, seconds, ready):
    with ingest_lock(index_dir):
        ready.set()
        time.sleep(seconds)


def test_second_writer_refuses_clearly_or_waits(tmp_path):
    index_dir = tmp_path / "index"
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(index_dir, 2.0, ready))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(IndexBusy, match=f"another ingest is running \\(pid {holder.pid}\\)"):
            with ingest_lock(index_dir):
                pass
        started = time.monotonic()
        with ingest_lock(index_dir, wait_seconds=30):
            waited = time.monotonic() - started
        assert waited > 0.2
    finally:
        holder.join(10)
    assert holder.exitcode == 0
    assert os.path.exists(index_dir / ".lock")


def test_missing_index_message(make_assistant):
    with pytest.raises(store.IndexMissing, match="rag ingest"):
        make_assistant().retrieve("anything")


def test_hnsw_index_option(make_assistant, notes_dir):
    write(notes_dir, "a.md", NOTE_A)
    write(notes_dir, "b.md", NOTE_B)
    a = make_assistant(index_type="hnsw")
    a.ingest()
    assert type(a.index.dense).__name__ == "IndexHNSWFlat"
    assert a.retrieve("average of past gradients", k=1)[0].source == "b.md"
    switched = make_assistant(index_type="flat").ingest()
    assert switched.rebuilt_because == "index type changed (hnsw -> flat); vectors reused" and switched.added == 0
    assert type(make_assistant().index.dense).__name__ == "IndexFlatIP"
    assert (
        make_assistant(index_type="auto", hnsw_above=0).ingest().rebuilt_because
        == "index type changed (flat -> hnsw); vectors reused"
    )
