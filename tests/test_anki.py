"""Anki export: the .apkg opened as what it is (a zip holding an SQLite collection), across two exports
and across an edit of the notes, from the API, the CLI and the UI's handler."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from html import unescape
from pathlib import Path

import pytest
from helpers import write

from rag.interview.anki import DECK_ID, MODEL_ID
from rag.interview.concepts import concepts_from_chunks

NOTE = """# Regularization

## Dropout
Dropout randomly sets a fraction of the activations to zero during training. It keeps units from
co-adapting, which reduces overfitting. At test time all units are used and the weights are scaled.

## Batch Normalization
Batch normalization normalizes the inputs of each layer over the mini-batch. It stabilises training and
allows higher learning rates. Where its inputs are <b>x < 0</b> they stay text on the card.
"""


def read_apkg(path: Path) -> dict:
    """Notes by guid, the note types and the decks, read straight from the package's collection."""
    with zipfile.ZipFile(path) as z:
        assert "collection.anki2" in z.namelist()
        db = path.with_suffix(".anki2")
        db.write_bytes(z.read("collection.anki2"))
    con = sqlite3.connect(db)
    try:
        notes = {
            guid: {"mid": mid, "fields": flds.split("\x1f"), "tags": tags.split()}
            for guid, mid, flds, tags in con.execute("select guid, mid, flds, tags from notes")
        }
        cards = [did for (did,) in con.execute("select did from cards")]
        models, decks = (json.loads(v) for v in con.execute("select models, decks from col").fetchone())
    finally:
        con.close()
    return {"notes": notes, "cards": cards, "models": models, "decks": decks}


def by_question(deck: dict, word: str) -> dict:
    [note] = [n for n in deck["notes"].values() if word in n["fields"][0]]
    return note


def test_two_exports_have_the_same_notes_and_an_edit_updates_them(make_assistant, notes_dir, tmp_path):
    write(notes_dir, "reg.md", NOTE)
    a = make_assistant()
    a.ingest()
    first = a.export_anki(tmp_path / "first.apkg")
    second = a.export_anki(tmp_path / "second.apkg")
    one, two = read_apkg(first.path), read_apkg(second.path)

    concepts = concepts_from_chunks(a.index.chunks)
    assert first.cards == len(concepts) == len(one["notes"]) >= 2 and first.deck == "notes-rag"
    # Anki matches an imported note to the one it has by guid (the row id is only a timestamp)
    assert one["notes"].keys() == two["notes"].keys() and len(set(one["notes"])) == len(one["notes"])
    assert {n["mid"] for n in one["notes"].values()} == {MODEL_ID} and str(MODEL_ID) in one["models"]
    assert set(one["cards"]) == {DECK_ID} and one["decks"][str(DECK_ID)]["name"] == "notes-rag"

    dropout = by_question(one, "Dropout")
    guid = next(g for g, n in one["notes"].items() if n is dropout)
    question, answer, source = dropout["fields"]
    assert "?" in question or question.endswith(".")
    assert "activations to zero" in answer and "reduces overfitting" in answer
    assert unescape(source) == "reg.md > Regularization > Dropout"  # fields are HTML
    norm = by_question(one, "Batch Normalization")
    assert "x &lt; 0" in norm["fields"][1] and "<b>" not in norm["fields"][1]

    # the note is edited and re-ingested: same cards, new backs
    write(notes_dir, "reg.md", NOTE.replace("which reduces overfitting", "which makes the network generalise better"))
    a.ingest()
    edited = read_apkg(a.export_anki(tmp_path / "edited.apkg").path)
    assert edited["notes"].keys() == one["notes"].keys()
    assert "generalise better" in edited["notes"][guid]["fields"][1] and "Dropout" in edited["notes"][guid]["fields"][0]


@pytest.mark.integration  # the rag command
def test_a_topic_deck_from_the_cli_and_the_ui(make_assistant, notes_dir, tmp_path):
    write(notes_dir, "reg.md", NOTE)
    a = make_assistant()
    a.ingest()
    env = {**os.environ, "RAG_CACHE_DIR": str(tmp_path / "cache"), "RAG_LLM_AUTOSTART": "false"}
    rag = str(Path(sys.executable).parent / "rag")
    deck = tmp_path / "decks" / "dropout.apkg"
    args = [
        rag,
        "interview",
        "--export-anki",
        str(deck),
        "--topic",
        "dropout",
        "--notes",
        str(notes_dir),
        "--index",
        str(a.index_dir),
    ]
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "1 card in deck notes-rag::dropout" in result.stdout and str(deck) in result.stdout
    cli = read_apkg(deck)
    [note] = cli["notes"].values()
    assert "Dropout" in note["fields"][0]
    topic_deck = set(cli["cards"])
    assert len(topic_deck) == 1 and DECK_ID not in topic_deck
    assert cli["decks"][str(topic_deck.pop())]["name"] == "notes-rag::dropout"

    none = subprocess.run(
        [*args[:5], "nothing-like-this", *args[6:]], capture_output=True, text=True, env=env, timeout=300
    )
    assert none.returncode == 1 and "no interview concepts match topic 'nothing-like-this'" in none.stderr

    from ui.app import App

    message, update = App(a).export_anki("dropout")
    assert message.startswith("1 card in deck *notes-rag::dropout*") and update["visible"]
    ui = read_apkg(Path(update["value"]))
    assert ui["notes"].keys() == cli["notes"].keys() and set(ui["cards"]) == set(cli["cards"])
    refused, hidden = App(a).export_anki("nothing-like-this")
    assert "no interview concepts match" in refused and not hidden["visible"]
