"""Issue #22, the MCP server, the OpenAI-compatible endpoint and ingestion details: each test is the one
that would have caught the defect a new user found."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import anyio
import pytest
from helpers import NOTES, REPO, write
from mcp import ClientSession, StdioServerParameters, stdio_client

from ingest.chunking import CHUNK_TOKENS, chunk_document
from ingest.documents import list_notes, load_document
from ingest.embed import Embedder
from rag import Assistant

HACKED = "# Escapes\nA title \x1b]0;HACKED\x07 and \x1b[31mred\x1b[0m text.\n\n## Bell\nRings\x07 a bell.\n"

REGULARIZATION = """---
title: Regularization
---
# Regularization
Regularization keeps a model from fitting the noise in its training data.

## Dropout
{paragraph}

Dropout is cheap, and it is the first regularizer worth trying on a new network.

## Weight decay
Weight decay adds the squared norm of the weights to the loss, pulling each weight towards zero.
"""

OPTIMIZERS = """---
title: Optimizers
---
# Optimizers
Momentum accumulates a decaying average of past gradients and steps along it.

Adam combines momentum with per-parameter learning rates scaled by the squared gradients.
"""

SENTENCES = [
    "Dropout sets a random fraction of the activations to zero at every training step.",
    "No unit can then rely on the presence of particular other units, which breaks co-adaptation.",
    "At test time every unit is kept and the outputs are scaled by the keep probability.",
    "This approximates averaging the predictions of an ensemble of thinned networks.",
    "Typical rates are a fifth for inputs and a half for hidden layers of fully connected networks.",
    "Convolutional layers share their weights and usually take much lower rates, if any.",
    "Spatial dropout drops whole feature maps instead of single activations.",
]


@pytest.fixture(scope="module")
def count():
    return Embedder().count_tokens


def dropout_paragraph(count) -> str:
    """A paragraph that fills the Dropout section's chunk on its own, so the line after it is left over."""
    budget = CHUNK_TOKENS - count("Regularization > Dropout")
    words: list[str] = []
    for word in " ".join(SENTENCES * 3).split():
        if count("## Dropout\n" + " ".join(words + [word])) > budget:
            break
        words.append(word)
    return " ".join(words)


@pytest.fixture(scope="module")
def vault(tmp_path_factory, count) -> Path:
    notes = tmp_path_factory.mktemp("vault")
    write(notes, "regularization.md", REGULARIZATION.format(paragraph=dropout_paragraph(count)))
    write(notes, "optimizers.md", OPTIMIZERS)
    write(notes, "escapes.md", HACKED)
    return notes


@pytest.fixture(scope="module")
def vault_assistant(vault, tmp_path_factory) -> Assistant:
    assistant = Assistant(notes_dir=vault, index_dir=tmp_path_factory.mktemp("vault-index"), llm_autostart=False)
    assistant.ingest()
    return assistant


# ---- 1 and 2: MCP ask_notes("") and read_note's escapes, through the SDK's own client ----------------


@pytest.fixture(scope="module")
def mcp_session(vault, vault_assistant, tmp_path_factory):
    """One stdio session against `python -m rag.frontends.mcp_server`: the tool results, and what the
    server wrote to stderr."""
    home = tmp_path_factory.mktemp("mcp")
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("HF_", "TRANSFORMERS_", "XDG_"))},
        "RAG_NOTES_DIR": str(vault),
        "RAG_INDEX_DIR": str(vault_assistant.index_dir),
        "RAG_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "RAG_LLM_AUTOSTART": "false",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag.frontends.mcp_server"], env=env, cwd=home)

    async def main(errlog):
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return {
                "empty": await session.call_tool("ask_notes", {"question": ""}),
                "blank": await session.call_tool("ask_notes", {"question": "   \n"}),
                "whole": await session.call_tool("read_note", {"path": "escapes.md"}),
                "section": await session.call_tool("read_note", {"path": "escapes.md", "heading": "Bell"}),
            }

    with (home / "stderr.log").open("w") as errlog:
        out = anyio.run(main, errlog)
    return out, (home / "stderr.log").read_text()


@pytest.mark.integration
def test_mcp_ask_notes_without_a_question_is_a_one_line_tool_error(mcp_session):
    out, stderr = mcp_session
    for name in ("empty", "blank"):
        result = out[name]
        message = result.content[0].text
        # the SDK's prefix, then the reason (before: the prefix alone, and the traceback in the log)
        assert result.is_error and message == "Error executing tool ask_notes: ask a question: the text is empty"
    assert "Traceback" not in stderr, stderr[-2000:]


@pytest.mark.integration
def test_mcp_read_note_returns_no_terminal_escapes(mcp_session):
    out, _ = mcp_session
    whole = json.loads(out["whole"].content[0].text)
    section = json.loads(out["section"].content[0].text)
    for text in (whole["text"], section["text"]):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text)
        assert "HACKED" not in text and "[31m" not in text
    assert whole["text"].splitlines()[1] == "A title  and red text."
    assert section["text"] == "## Bell\nRings a bell." and section["lines"] == [4, 5]


def test_read_note_strips_control_characters_for_every_front_end(vault_assistant):
    note = vault_assistant.read_note("escapes.md")
    assert note.text.split("\n")[:2] == ["# Escapes", "A title  and red text."]


# ---- 3: the OpenAI endpoint's streaming, as the README describes it ------------------------------------


def test_readme_describes_the_streaming_the_endpoint_does():
    """Verified and extractive answers cannot stream the model's words: a sentence sent cannot be taken
    back when the check drops it (tests/test_openai_api.py: the draft never reaches the client). The
    README must not promise it."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("### OpenAI-compatible endpoint", 1)[1].split("###", 1)[0]
    streaming = next(item for item in section.split("\n- ") if item.startswith("Streaming"))
    assert "as they come" not in streaming.split("raw")[0], streaming
    assert "checked answer" in streaming and "one chunk" in streaming


# ---- 4: a front-matter title repeated as the first heading ---------------------------------------------


def test_a_title_repeated_as_the_first_heading_is_said_once(vault, vault_assistant):
    from rag.interview.concepts import concepts_from_chunks

    chunks = vault_assistant.index.chunks
    headings = {c.heading for c in chunks if c.source != "escapes.md"}
    assert headings == {"Regularization", "Regularization > Dropout", "Regularization > Weight decay", "Optimizers"}
    topics = {c.topic for c in concepts_from_chunks(chunks)}
    assert topics and not [t for t in topics if re.search(r"^(.+) > \1\b", t)], topics
    # a heading path as sources show it, the title included, still finds the section
    for heading in ("Dropout", "Regularization > Dropout"):
        section = vault_assistant.read_note("regularization.md", heading)
        assert section.heading == "Dropout" and section.text.startswith("## Dropout")


# ---- 5: a tiny tail of a section is folded into the chunk before it -----------------------------------


def test_a_one_line_tail_joins_the_chunk_before_it(vault_assistant):
    tail = next(c for c in vault_assistant.index.chunks if "Dropout is cheap," in c.text)
    assert "co-adaptation" in tail.text and tail.line_end - tail.line_start >= 2
    top = vault_assistant.retrieve("dropout", k=1)[0]
    assert top.heading == "Regularization > Dropout" and top.chunk.line_start < top.chunk.line_end


def test_no_shipped_note_has_a_tiny_tail_chunk(count):
    files, _ = list_notes(NOTES)
    tails = []
    for source, path in files.items():
        chunks = chunk_document(load_document(path, source), count)
        for before, chunk in zip(chunks, chunks[1:]):
            if chunk.heading_path == before.heading_path and count(chunk.text) < CHUNK_TOKENS // 4:
                tails.append(f"{source}:{chunk.line_start}-{chunk.line_end} {chunk.text[:60]!r}")
    assert not tails, "\n".join(tails)


# ---- 6: what the README says about reading notes --------------------------------------------------------


def test_a_few_bad_bytes_do_not_cost_the_whole_note(make_assistant, notes_dir):
    """A note saved mostly as UTF-8 with one Latin-1 "é" pasted in is read, with the bad byte shown as
    U+FFFD and a warning naming the file, the line and the fix; before, the whole note was skipped."""
    body = "# Dropout\nDropout drops units at random.\nCaf\xe9 notes: it prevents co-adaptation.\n"
    write(notes_dir, "mixed.md", body.encode("latin-1"))
    stats = make_assistant().ingest()
    assert stats.files == 1 and stats.chunks == 1 and not stats.skipped
    [warning] = stats.warnings
    assert warning.startswith("mixed.md: ") and "UTF-8" in warning and "line 3" in warning and "\n" not in warning
    assert "Caf\ufffd notes" in make_assistant().retrieve("co-adaptation", k=1)[0].text
    assert make_assistant().read_note("mixed.md").text.splitlines()[2] == "Caf\ufffd notes: it prevents co-adaptation."


def test_readme_says_what_ingest_does_with_embeds_pdf_pages_and_bad_bytes():
    readme = (REPO / "README.md").read_text()
    ingest = readme.split("### How ingest works", 1)[1].split("\n## ", 1)[0]
    assert "![[" in ingest and "not transcluded" in ingest
    assert "`PAGE n`" in ingest
    assert "not valid UTF-8" in ingest and "U+FFFD" in ingest
