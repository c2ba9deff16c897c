"""Related notes (`Assistant.related`, `rag related`): links, embeds and backlinks read from a real vault,
and the notes closest in meaning from the real index's vectors."""

from __future__ import annotations

import dataclasses
import json

import pytest
from helpers import rag
from linked_vault import linked_vault

from rag import BadRequest
from rag.library.related import NoteGraph


@pytest.fixture
def vault(notes_dir, make_assistant):
    linked_vault(notes_dir)
    a = make_assistant()
    a.ingest()
    return a


def by_source(found) -> dict[str, list[str]]:
    relations: dict[str, list[str]] = {}
    for r in found.related:
        relations.setdefault(r.source, []).append(r.relation)
    return relations


def test_links_embeds_backlinks_and_the_closest_notes(vault):
    found = vault.related("attention", k=3)
    assert found.note == "deep/attention.md"
    relations = by_source(found)
    assert relations["deep/transformer.md"] == ["links to"]
    assert relations["softmax.md"] == ["embeds"]
    assert relations["rnn.md"] == ["linked from"]
    # a link to no note is said; a pasted image and a link inside a code block are not links to notes
    assert found.unresolved == ["Missing note"]
    close = [r for r in found.related if r.relation == "close in meaning"]
    # linked notes are not repeated as close ones, and the note itself is never related to itself
    assert {r.source for r in close} == {"seq2seq.md", "cooking.md"}
    assert close[0].source == "seq2seq.md" and close[0].score > close[1].score
    assert close[0].reason.startswith(f"close in meaning: {close[0].score:.2f}")
    assert "sequence" in close[0].shared or "token" in close[0].shared, close[0].shared


def test_k_limits_only_the_notes_close_in_meaning(vault):
    found = vault.related("deep/attention.md", k=1)
    assert [r.relation for r in found.related] == ["links to", "embeds", "linked from", "close in meaning"]
    with pytest.raises(BadRequest, match="out of range"):
        vault.related("attention", k=0)


def test_a_folder_or_an_unknown_name_is_a_one_line_error(vault):
    with pytest.raises(BadRequest, match=r"'deep' names 2 notes \(deep/attention.md, deep/transformer.md\)"):
        vault.related("deep")
    with pytest.raises(BadRequest, match="closest: deep/attention.md"):
        vault.related("atention")


def test_links_follow_edits_and_only_changed_notes_are_read_again(vault, notes_dir):
    assert by_source(vault.related("attention"))["rnn.md"] == ["linked from"]
    links_file = vault.index_dir / "links.json"
    before = json.loads(links_file.read_text())["notes"]
    (notes_dir / "rnn.md").write_text("# Recurrent networks\n\nNo links here any more.\n")
    (notes_dir / "softmax.md").write_text("# Softmax\n\nProbabilities; see [[rnn]].\n")
    vault.ingest()
    found = vault.related("attention")
    assert "linked from" not in by_source(found).get("rnn.md", [])
    assert by_source(vault.related("rnn"))["softmax.md"] == ["linked from"]
    after = json.loads(links_file.read_text())["notes"]
    changed = {s for s in after if after[s] != before.get(s)}
    assert changed == {"rnn.md", "softmax.md"}


def test_rag_related_prints_reasons_and_json(notes_dir, tmp_path, cli_env):
    linked_vault(notes_dir)
    where = ["--notes", str(notes_dir), "--index", str(tmp_path / "idx")]
    shown = rag("related", "attention.md", "-k", "2", *where, env=cli_env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "deep/attention.md"
    assert any(line.split() == ["deep/transformer.md", "links", "to"] for line in lines)
    assert any(line.split()[:2] == ["rnn.md", "linked"] for line in lines)
    assert any("seq2seq.md" in line and "close in meaning: 0." in line for line in lines)
    assert "links to no note here: Missing note" in shown.stdout

    data = json.loads(rag("related", "attention", "--json", *where, env=cli_env).stdout)
    assert set(data) == {"note", "related", "unresolved"}
    assert set(data["related"][0]) == {"source", "relation", "reason", "score", "shared"}
    assert sum(r["relation"] == "close in meaning" for r in data["related"]) == 2  # the default k covers both

    wrong = rag("related", "atention", *where, env=cli_env)
    assert wrong.returncode == 1 and wrong.stdout == ""
    assert len(wrong.stderr.strip().splitlines()) == 1 and "closest: deep/attention.md" in wrong.stderr


def test_follow_links_adds_the_closest_passage_of_a_note_the_top_passages_link_to(vault, make_assistant):
    question = "scaled dot product attention"
    plain = [h.source for h in vault.retrieve(question, k=4)]
    assert plain[0] == "deep/attention.md" and "softmax.md" not in plain
    following = make_assistant(follow_links=True)
    hits = following.retrieve(question, k=4)
    # attention.md embeds softmax.md: its passage takes the last place, below the question's own best three
    assert [h.source for h in hits] == [*plain[:3], "softmax.md"]
    assert hits[3].score <= hits[2].score
    # a link is followed only inside the scope asked for, and only from a passage that holds it
    scoped = following.retrieve(question, k=4, sources=["deep", "rnn"])
    assert {h.source for h in scoped} == {"deep/attention.md", "deep/transformer.md", "rnn.md"}
    assert [h.source for h in following.retrieve("boil pasta in salted water", k=4)] == [
        h.source for h in vault.retrieve("boil pasta in salted water", k=4)
    ]


def test_a_passage_links_only_to_what_is_on_its_own_lines(vault):
    graph = NoteGraph(vault.index, vault.index_dir)
    attention = next(c for c in vault.index.chunks if c.source == "deep/attention.md")
    # not the link inside a code block, the missing note or the pasted image: no notes to follow
    assert graph.passage_links(attention) == ["deep/transformer.md", "softmax.md"]
    front_matter = dataclasses.replace(attention, line_start=1, line_end=3)
    assert graph.passage_links(front_matter) == []
