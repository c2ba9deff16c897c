"""Staying in sync with the notes: the staleness check, the automatic ingest before the index is used,
the watcher behind `rag watch` and `rag ui`, and the links from every passage back to its note."""

import json
import os
import queue
import subprocess
from pathlib import Path

import pytest
from helpers import NOTES, RAG, free_port, write

from ingest import store
from ingest.store import current_generation
from rag.library.links import location, note_url
from rag.library.watch import NotesWatcher
from rag.types import Source
from ui.render import hit_cards, source_cards

DROPOUT = "# Dropout\nDropout randomly zeroes activations during training.\n"
KERNELS = "# Kernels\nA kernel computes an inner product in a feature space without mapping into it.\n"
OKAPI = "# Dropout\nThe okapi schedule anneals the dropout rate by one quokka per epoch.\n"


def test_a_folder_never_ingested_is_indexed_on_first_use(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant()
    assert a.index_stale() == "no index yet"
    assert a.retrieve("what zeroes activations?", k=1)[0].source == "a.md"
    assert a.index_stale() is None


def test_edits_additions_and_removals_are_noticed_and_ingested_before_use(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    write(notes_dir, "b.md", KERNELS)
    a = make_assistant()
    a.ingest()
    assert a.index_stale() is None and a.ensure_index() is None
    write(notes_dir, "a.md", OKAPI)
    write(notes_dir, "sub/c.md", "# Trees\nA decision tree splits on the feature with the best Gini gain.\n")
    (notes_dir / "b.md").unlink()
    assert a.index_stale() == "notes 1 changed, 1 added, 1 removed"
    hit = a.retrieve("okapi schedule quokka", k=1)[0]  # retrieve brings the index up to date first
    assert hit.source == "a.md" and "okapi" in hit.text
    assert {h.source for h in a.retrieve("kernel inner product", k=5)} == {"a.md", "sub/c.md"}
    assert a.index_stale() is None


def test_the_check_reads_no_note_and_loads_no_model(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    make_assistant().ingest()
    b = make_assistant()
    assert b.ensure_index() is None
    assert "embedder" not in b.__dict__  # nothing changed: the embedding model was never touched


def test_a_touched_note_is_hashed_once_and_not_embedded_again(make_assistant, notes_dir):
    note = write(notes_dir, "a.md", DROPOUT)
    a = make_assistant()
    a.ingest()
    generation = current_generation(a.index_dir)
    st = note.stat()
    os.utime(note, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert a.index_stale() == "notes 1 changed"
    stats = a.ensure_index()
    assert not stats.changed and stats.unchanged == 1
    assert current_generation(a.index_dir) == generation  # only the recorded stat was refreshed
    assert a.index_stale() is None


def test_a_manifest_from_before_stat_checks_still_loads_and_is_hashed_not_re_embedded(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant()
    a.ingest()
    path = current_generation(a.index_dir) / "manifest.json"
    old = json.loads(path.read_text())
    del old["unreadable"]
    for entry in old["files"].values():
        del entry["mtime_ns"]
    path.write_text(json.dumps(old))
    assert a.retrieve("what zeroes activations?", k=1)[0].source == "a.md"
    assert current_generation(a.index_dir) == path.parent
    assert json.loads(path.read_text())["files"]["a.md"]["mtime_ns"] == (notes_dir / "a.md").stat().st_mtime_ns


def test_a_note_broken_by_an_edit_keeps_its_chunks_and_is_not_retried_until_it_changes(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant()
    a.ingest()
    write(notes_dir, "a.md", b"\x00\x01 binary now")
    stats = a.ensure_index()
    assert [s.source for s in stats.skipped] == ["a.md"] and "kept the chunks" in stats.warnings[0]
    assert a.index_stale() is None  # the broken state is recorded: no ingest before every question
    assert "zeroes activations" in a.retrieve("what zeroes activations?", k=1)[0].text
    write(notes_dir, "a.md", OKAPI)
    assert a.index_stale() == "notes 1 changed"
    assert "okapi" in a.retrieve("okapi quokka", k=1)[0].text


def test_a_question_during_another_ingest_is_answered_from_the_previous_generation(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant()
    a.ingest()
    write(notes_dir, "a.md", OKAPI)
    with store.ingest_lock(a.index_dir):  # the watcher or another process is ingesting
        assert a.ensure_index() is None
        assert "zeroes activations" in a.retrieve("dropout", k=1)[0].text
    assert "okapi" in a.retrieve("dropout", k=1)[0].text


def test_auto_ingest_off_leaves_the_index_as_it_is(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant(auto_ingest=False)
    with pytest.raises(store.IndexMissing, match="rag ingest"):
        a.retrieve("dropout")
    a.ingest()
    write(notes_dir, "a.md", OKAPI)
    assert a.index_stale() == "notes 1 changed" and a.ensure_index() is None
    assert "zeroes activations" in a.retrieve("dropout", k=1)[0].text


def test_an_index_built_from_another_folder_is_left_alone(make_assistant, notes_dir, tmp_path):
    write(notes_dir, "a.md", DROPOUT)
    make_assistant().ingest()
    other = tmp_path / "other"
    write(other, "b.md", KERNELS)
    assert make_assistant(notes_dir=other).index_stale() is None


def test_the_watcher_re_ingests_after_an_edit(make_assistant, notes_dir):
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant(auto_ingest=False)  # only the watcher can bring the edit in
    ingested, errors = queue.Queue(), []
    watcher = NotesWatcher(a, on_ingest=ingested.put, on_error=errors.append).start()
    try:
        assert watcher.ready.wait(60)  # the catch-up ingest built the index
        assert ingested.get_nowait().added == 1
        write(notes_dir, "a.md", OKAPI)
        stats = ingested.get(timeout=60)
        assert stats.updated == 1
        assert "okapi" in a.retrieve("okapi quokka", k=1)[0].text
    finally:
        watcher.stop()
    assert errors == []
    assert watcher.relevant(None, str(notes_dir.resolve() / "sub" / "x.md"))
    assert not watcher.relevant(None, str(notes_dir.resolve() / ".obsidian" / "workspace.json"))
    assert not watcher.relevant(None, str(notes_dir.resolve() / "picture.png"))


def test_the_watcher_tries_again_after_a_failed_ingest(make_assistant, notes_dir, monkeypatch):
    from rag.library import watch

    monkeypatch.setattr(watch, "LOCK_WAIT_SECONDS", 0.2)
    monkeypatch.setattr(watch, "RETRY_SECONDS", 0.5)
    write(notes_dir, "a.md", DROPOUT)
    a = make_assistant(auto_ingest=False)
    ingested, errors = queue.Queue(), queue.Queue()
    with store.ingest_lock(a.index_dir):  # another ingest holds the index while the watcher starts
        watcher = NotesWatcher(a, on_ingest=ingested.put, on_error=errors.put).start()
        try:
            assert "another ingest is running" in errors.get(timeout=60)
            assert not watcher.ready.is_set()
        except BaseException:
            watcher.stop()
            raise
    try:
        assert ingested.get(timeout=60).added == 1  # no edit needed: the catch-up is tried again
        assert watcher.ready.is_set()
    finally:
        watcher.stop()


# ---- links back to the note -------------------------------------------------------------------


def test_hits_and_sources_carry_the_note_path_and_line_span(shipped):
    hits = shipped.retrieve("What does batch normalization do?", k=3)
    for h in hits:
        assert h.path == str(NOTES.resolve() / h.source) and 1 <= h.chunk.line_start <= h.chunk.line_end
        assert h.to_json()["path"] == h.path
    answer = shipped.ask("What does batch normalization do?")  # the LLM is down: passages and sources
    first = answer.to_json()["sources"][0]
    assert (first["path"], first["line_start"], first["line_end"]) == (
        hits[0].path,
        hits[0].chunk.line_start,
        hits[0].chunk.line_end,
    )
    # the line span points into the note: the heading the chunk sits under is above its first line
    lines = Path(hits[0].path).read_text().splitlines()
    assert hits[0].chunk.line_end <= len(lines)


def test_location_is_relative_to_the_working_directory_when_it_can_be(tmp_path, monkeypatch):
    note = write(tmp_path, "notes/sub/a.md", DROPOUT)
    monkeypatch.chdir(tmp_path)
    assert location(str(note), 12) == "notes/sub/a.md:12"
    monkeypatch.chdir(NOTES)
    assert location(str(note), 12) == f"{note}:12"


def test_source_cards_link_into_obsidian_when_the_folder_is_a_vault(tmp_path):
    vault = tmp_path / "My Vault"
    note = write(vault, "ML basics/Batch norm & co.md", DROPOUT)
    source = Source(
        1, "ML basics/Batch norm & co.md", "Batch norm > Dropout", "excerpt", "id", True, "text", str(note), 2, 3
    )
    plain = source_cards([source])
    assert f'href="{note.as_uri()}"' in plain and "Batch norm &amp; co.md:2</a>" in plain
    (vault / ".obsidian").mkdir()
    url = "obsidian://open?vault=My%20Vault&amp;file=ML%20basics%2FBatch%20norm%20%26%20co"
    assert f'href="{url}"' in source_cards([source])
    assert note_url(str(note), source.source) == url.replace("&amp;", "&")
    # a non-Markdown note keeps its extension: Obsidian opens attachments by their full name
    pdf = write(vault, "papers/attention.pdf", b"%PDF")
    assert note_url(str(pdf), "papers/attention.pdf").endswith("&file=papers%2Fattention.pdf")


def test_library_hit_cards_link_to_the_note_too(shipped):
    cards = hit_cards(shipped.retrieve("dropout", k=2))
    assert cards.count('class="note-link" href="file://') == 2


# ---- the command line, as a user runs it ------------------------------------------------------


def rag(*args, env):
    return subprocess.run([RAG, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=300)


@pytest.mark.integration  # the rag command
def test_rag_retrieve_and_ask_keep_the_index_current_and_print_path_and_line(notes_dir, tmp_path):
    env = {
        "RAG_CACHE_DIR": str(tmp_path / "cache"),
        "RAG_LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "RAG_LLM_AUTOSTART": "false",
    }
    write(notes_dir, "a.md", "---\ntags: [ml]\n---\n" + DROPOUT)
    where = f"{(notes_dir / 'a.md').resolve()}:4"  # the chunk opens at its heading, below the front matter
    args = ["--notes", str(notes_dir)]  # no --index and no `rag ingest`: a fresh checkout

    first = rag("retrieve", "what zeroes activations?", *args, env=env)
    assert first.returncode == 0, first.stderr
    said = [line for line in first.stderr.splitlines() if line.strip()]
    assert len(said) == 1 and said[0].startswith("index updated: 1 files, 1 chunks (+1 new"), first.stderr
    assert where in first.stdout

    write(notes_dir, "a.md", "---\ntags: [ml]\n---\n" + OKAPI)
    second = rag("retrieve", "okapi quokka", *args, env=env)
    assert "index updated:" in second.stderr and "1 changed" in second.stderr
    assert "okapi schedule" in second.stdout and where in second.stdout

    asked = rag("ask", "What is the okapi schedule?", *args, "--no-autostart", env=env)
    assert asked.returncode == 3 and "index updated" not in asked.stderr  # nothing changed since
    sources = asked.stdout.split("Sources", 1)[1]
    assert f"1] {where} > a > Dropout" in sources or f"(1) {where} > a > Dropout" in sources

    as_json = json.loads(rag("ask", "What is the okapi schedule?", *args, "--no-autostart", "--json", env=env).stdout)
    assert (
        as_json["sources"][0]["path"] == str((notes_dir / "a.md").resolve())
        and as_json["sources"][0]["line_start"] == 4
    )
