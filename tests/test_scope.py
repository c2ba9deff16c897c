"""Scope everywhere: a question or an interview limited to a note (by name or path), a folder or a tag,
through the API, `rag interview`, the MCP tools and the OpenAI-compatible endpoint; a name that matches
nothing is a one-line error listing the closest names."""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import anyio
import openai
import pytest
from fake_llm import FakeLLM
from helpers import free_port, rag, write
from linked_vault import linked_vault

from rag import Assistant, BadRequest
from rag.frontends.openai_api import server
from ui.app import launch

QUESTION = "How does attention look at the tokens of a sequence?"
REPLY = "Attention lets every token attend to every other token [1]."


@pytest.fixture
def vault(notes_dir, make_assistant):
    linked_vault(notes_dir)
    a = make_assistant()
    a.ingest()
    return a


@pytest.fixture
def fake():
    with FakeLLM(REPLY) as llm:
        yield llm


def sources(hits) -> set[str]:
    return {h.source for h in hits}


def test_a_source_is_a_name_a_path_or_a_folder(vault, notes_dir, monkeypatch):
    assert sources(vault.retrieve(QUESTION, k=10)) > {"deep/attention.md", "seq2seq.md"}  # unscoped: both
    for name in ("attention", "attention.md", "deep/attention.md", str(notes_dir / "deep" / "attention.md")):
        assert sources(vault.retrieve(QUESTION, k=10, sources=[name])) == {"deep/attention.md"}, name
    monkeypatch.chdir(notes_dir.parent)  # a path from here, as a shell completes it
    assert sources(vault.retrieve(QUESTION, k=10, sources=["notes/deep/attention.md"])) == {"deep/attention.md"}
    assert sources(vault.retrieve(QUESTION, k=10, sources=["deep", "rnn"])) == {
        "deep/attention.md",
        "deep/transformer.md",
        "rnn.md",
    }
    assert sources(vault.retrieve(QUESTION, k=10, tags=["#NLP"])) == {"deep/attention.md"}


def test_an_unknown_source_or_tag_lists_the_closest_names(vault):
    with pytest.raises(
        BadRequest, match=r"^no note or folder 'transformers' in the notes; closest: deep/transformer.md"
    ):
        vault.retrieve(QUESTION, sources=["transformers"])
    with pytest.raises(BadRequest, match=r"closest: deep/"):
        vault.retrieve(QUESTION, sources=["dep"])
    write(vault.notes_dir, "accenture-interview-prep.md", "# Prep\n\nTell me about yourself.\n")
    with pytest.raises(BadRequest, match=r"'accenture' in the notes; closest: accenture-interview-prep.md$"):
        vault.retrieve(QUESTION, sources=["accenture"])  # a part of a name, too short a part for difflib
    with pytest.raises(BadRequest, match=r"no note has the tag 'nlpp'; closest: nlp"):
        vault.retrieve(QUESTION, tags=["nlpp"])


def test_scopes_list_notes_folders_and_tags(vault):
    found = vault.scopes()
    assert found.folders == ["deep/"] and found.tags == ["nlp"]
    assert found.notes == sorted(
        ["deep/attention.md", "deep/transformer.md", "seq2seq.md", "rnn.md", "softmax.md", "cooking.md"]
    )


def test_an_interview_stays_in_its_scope(vault):
    everything = vault.interview(n=20, phrasing="template")
    assert len({c.source for c in everything.plan}) > 2
    folder = vault.interview(n=20, phrasing="template", sources=["deep"])
    assert folder.plan and {c.source for c in folder.plan} <= {"deep/attention.md", "deep/transformer.md"}
    tagged = vault.interview(n=2, phrasing="template", tags=["nlp"])
    assert len(tagged.plan) <= 2 and {c.source for c in tagged.plan} == {"deep/attention.md"}
    assert tagged.next_question().source == "deep/attention.md"
    with pytest.raises(BadRequest, match="closest: cooking.md"):
        vault.interview(sources=["cookin.md"])


def test_rag_interview_source_and_tag(notes_dir, tmp_path, cli_env):
    linked_vault(notes_dir)
    where = ["--notes", str(notes_dir), "--index", str(tmp_path / "idx")]
    env = {**cli_env, "RAG_INTERVIEW_DIR": str(tmp_path / "interview")}
    run = rag(
        "interview", "--n", "1", "--phrasing", "template", "--source", "softmax", *where, env=env, input="/quit\n"
    )
    assert run.returncode == 0, run.stderr
    assert "· softmax > Softmax" in run.stdout and "Saved." in run.stdout
    wrong = rag("interview", "--tag", "nlpx", *where, env=env, input="/quit\n")
    assert wrong.returncode == 1 and "no note has the tag 'nlpx'; closest: nlp" in wrong.stderr


def test_rag_chat_source_and_tag(notes_dir, tmp_path, cli_env):
    linked_vault(notes_dir)
    where = ["--notes", str(notes_dir), "--index", str(tmp_path / "idx"), "--no-log"]
    run = rag("chat", "--source", "seq2seq", *where, env=cli_env, input=f"{QUESTION}\n/sources\n/quit\n")
    assert run.returncode == 0, run.stderr
    shown = [line for line in run.stdout.splitlines() if ".md:" in line]
    assert shown and all("seq2seq.md:" in line for line in shown), run.stdout
    wrong = rag("chat", "--tag", "nlpx", *where, env=cli_env, input=f"{QUESTION}\n")
    assert wrong.returncode == 1 and wrong.stderr.strip().splitlines() == [
        "error: no note has the tag 'nlpx'; closest: nlp"
    ]


def test_mcp_tools_take_a_scope(vault, notes_dir, tmp_path, fake):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("HF_", "TRANSFORMERS_", "XDG_"))},
        "RAG_NOTES_DIR": str(notes_dir),
        "RAG_INDEX_DIR": str(vault.index_dir),
        "RAG_INTERVIEW_DIR": str(tmp_path / "interview"),
        "RAG_LLM_BASE_URL": fake.base_url,
        "RAG_LLM_AUTOSTART": "false",
    }
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag.frontends.mcp_server"], env=env)
    call = lambda session, tool, args: session.call_tool(tool, args)

    async def main():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return {
                "tools": {t.name: t for t in (await session.list_tools()).tools},
                "ask": await call(session, "ask_notes", {"question": QUESTION, "source": "deep"}),
                "quiz": await call(session, "quiz", {"tag": "nlp"}),
                "related": await call(session, "related_notes", {"note": "attention", "k": 1}),
                "wrong": await call(session, "ask_notes", {"question": QUESTION, "source": "seq2sec"}),
            }

    out = anyio.run(main)
    for tool in ("ask_notes", "quiz"):
        assert {"source", "tag"} <= set(out["tools"][tool].input_schema["properties"]), tool
    answer = json.loads(out["ask"].content[0].text)
    assert answer["sources"] and {s["source"] for s in answer["sources"]} <= {
        "deep/attention.md",
        "deep/transformer.md",
    }
    assert json.loads(out["quiz"].content[0].text)["source"] == "deep/attention.md"
    related = json.loads(out["related"].content[0].text)
    assert related["note"] == "deep/attention.md" and related["related"][0]["reason"] == "links to"
    assert out["wrong"].is_error and "closest: seq2seq.md" in out["wrong"].content[0].text


@pytest.fixture
def api(vault, fake):
    app = server(vault, "127.0.0.1", free_port())
    thread = threading.Thread(target=app.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not app.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.05)
    yield openai.OpenAI(base_url=f"http://127.0.0.1:{app.config.port}/v1", api_key="unused")
    app.should_exit = True
    thread.join(10)


def test_the_openai_endpoint_takes_a_scope_in_the_model_name_or_the_request(api):
    ask = lambda model, **extra: api.chat.completions.create(
        model=model, messages=[{"role": "user", "content": QUESTION}], extra_body=extra or None
    )
    drawn = lambda done: {s["source"] for s in done.model_extra["sources"]}
    assert len(drawn(ask("notes-rag"))) > 2
    assert drawn(ask("notes:source=deep")) <= {"deep/attention.md", "deep/transformer.md"}
    assert drawn(ask("notes:nlp")) == drawn(ask("notes:tag=nlp")) == {"deep/attention.md"}
    assert drawn(ask("notes-rag", source=["seq2seq", "rnn.md"])) <= {"seq2seq.md", "rnn.md"}
    assert drawn(ask("notes:source=deep", tag="nlp")) == {"deep/attention.md"}
    with pytest.raises(openai.BadRequestError, match="closest: deep/transformer.md"):
        ask("notes:source=transformers")
    with pytest.raises(openai.BadRequestError, match="notes:TAG, notes:tag=TAG or notes:source=NAME"):
        ask("notes:folder=deep")
    with pytest.raises(openai.BadRequestError, match="'tag' must be a name or a list of names"):
        ask("notes-rag", tag=3)
    streamed = api.chat.completions.create(
        model="notes:source=nowhere", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    with pytest.raises(openai.APIError, match="no note or folder 'nowhere'"):
        list(streamed)


# ---- the browser app ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ui_vault(tmp_path_factory):
    with FakeLLM(REPLY) as llm:
        root = tmp_path_factory.mktemp("scope-ui")
        a = Assistant(
            notes_dir=linked_vault(root / "notes"),
            index_dir=root / "index",
            interview_dir=root / "interview",
            llm_base_url=llm.base_url,
            llm_autostart=False,
        )
        a.ingest()
        yield a


@pytest.fixture(scope="module")
def app_url(ui_vault):
    port = free_port()
    demo = launch(ui_vault, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}"
    demo.close()


def choose(page, picker: str, label: str) -> None:
    page.click(f"#{picker} input")
    page.get_by_role("option", name=label, exact=True).click()


def notes_shown(page) -> list[str]:
    """The note of each source card: "[1] deep/attention.md:4 > attention" → deep/attention.md."""
    # folded cards (retrieved, not cited) are hidden, so their text is read from the DOM, not the screen
    cards = page.locator("#sources .source-card .where").all_text_contents()
    return [card.split(" ", 1)[1].split(":", 1)[0] for card in cards]


def test_the_chat_filter_restricts_the_sources_shown_and_related_notes_show_beside_them(page, artifacts):
    choose(page, "chat-place", "deep/")
    page.fill("#question textarea", QUESTION)
    page.click("#ask")
    page.wait_for_selector("#sources .source-card", timeout=60_000)
    shown = notes_shown(page)
    assert shown and all(w.startswith("deep/") for w in shown), shown
    page.wait_for_selector("#related .related")
    related = page.inner_text("#related")
    assert related.startswith("Related to deep/attention.md") and "links to" in related, related
    page.screenshot(path=str(artifacts / "ui-scope-related.png"), full_page=True)

    choose(page, "chat-place", "all notes")
    choose(page, "chat-tag", "#nlp")
    page.fill("#question textarea", "What does a recurrent network read?")
    page.click("#ask")
    page.wait_for_function(
        "() => document.querySelectorAll('#chat [data-testid=bot]').length === 2"
        " && !document.querySelector('#ask').disabled",
        timeout=60_000,
    )
    assert set(notes_shown(page)) == {"deep/attention.md"}
