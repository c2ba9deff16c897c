"""`rag mcp`: a real MCP client session (the SDK's stdio client) talking to the server as a subprocess
over the shipped notes' index. The LLM behind ask_notes is the scripted fake: the protocol and the
tools are under test, not the model."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import anyio
import pytest
from fake_llm import FakeLLM
from helpers import NOTES, free_port
from mcp import ClientSession, StdioServerParameters, stdio_client

pytestmark = pytest.mark.integration  # processes of their own

TOOLS = {"search_notes", "read_note", "list_notes", "ask_notes", "quiz", "grade_answer", "related_notes"}


@pytest.fixture
def notes_with_traps(tmp_path):
    """The shipped notes plus a symlink out of the folder and a secret beside it."""
    notes = tmp_path / "notes"
    shutil.copytree(NOTES, notes)
    secret = tmp_path / "secret.md"
    secret.write_text("# Secret\nnot a note of yours\n")
    (notes / "leak.md").symlink_to(secret)
    return notes


def call(notes, index, tmp_path, llm_url: str, steps):
    """Start `python -m rag.frontends.mcp_server` with the environment a desktop client would set, run `steps`
    in one initialised session, and return what it returns."""
    env = {
        **{k: v for k, v in os.environ.items() if k.startswith(("HF_", "TRANSFORMERS_", "XDG_"))},
        "RAG_NOTES_DIR": str(notes),
        "RAG_INDEX_DIR": str(index),
        "RAG_INTERVIEW_DIR": str(tmp_path / "interview"),
        "RAG_LLM_BASE_URL": llm_url,
        "RAG_LLM_AUTOSTART": "false",
    }
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "rag.frontends.mcp_server"], env=env, cwd=str(tmp_path)
    )

    async def main():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await steps(session)

    return anyio.run(main)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def payload(result) -> dict:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


def test_tools_search_read_list_and_refusals(notes_with_traps, shipped_index, tmp_path):
    async def steps(session):
        tools = await session.list_tools()
        out = {"tools": {t.name: t for t in tools.tools}}
        out["search"] = await session.call_tool("search_notes", {"query": "What does batch normalization do?", "k": 3})
        out["filtered"] = await session.call_tool(
            "search_notes", {"query": "reward", "k": 2, "source": "ai-applications-summary.txt"}
        )
        out["listed"] = await session.call_tool("list_notes", {})
        out["read"] = await session.call_tool(
            "read_note", {"path": "ml-fundamentals.md", "heading": "Batch Normalization"}
        )
        out["whole"] = await session.call_tool("read_note", {"path": "life-as-an-ml-engineer.md"})
        for name, path in {
            "dotdot": "../secret.md",
            "absolute": str(tmp_path / "secret.md"),
            "symlink": "leak.md",
            "hidden": ".obsidian/app.json",
        }.items():
            out[name] = await session.call_tool("read_note", {"path": path})
        return out

    out = call(notes_with_traps, shipped_index, tmp_path, "http://127.0.0.1:9/v1", steps)

    assert set(out["tools"]) == TOOLS
    assert set(out["tools"]["search_notes"].input_schema["properties"]) == {"query", "k", "source", "tag"}

    passages = payload(out["search"])["passages"]
    assert len(passages) == 3 and passages[0]["rank"] == 1
    top = passages[0]
    assert top["source"] == "ml-fundamentals.md" and "Batch Normalization" in top["heading"]
    assert "normaliz" in top["text"].lower()
    start, end = top["lines"]
    # the line span points at the passage in the file itself
    file_lines = (NOTES / top["source"]).read_text().splitlines()[start - 1 : end]
    assert "Batch Normalization" in "\n".join(file_lines) or "batch norm" in "\n".join(file_lines).lower()

    assert {p["source"] for p in payload(out["filtered"])["passages"]} == {"ai-applications-summary.txt"}

    listed = payload(out["listed"])
    names = {n["source"]: n for n in listed["notes"]}
    assert set(names) == {p.name for p in NOTES.iterdir()}  # the symlink out is not a note
    assert all(n["chunks"] > 0 for n in names.values())

    section = payload(out["read"])
    assert section["source"] == "ml-fundamentals.md"
    assert section["heading"] == "Neural Network Terminologies > Batch Normalization"
    assert section["text"].startswith("- Batch Normalization:") and "internal covariate shift" in section["text"]
    first, last = section["lines"]
    assert (
        1 < first < last and "Batch Normalization" in (NOTES / "ml-fundamentals.md").read_text().splitlines()[first - 1]
    )
    assert payload(out["whole"])["text"].strip() == (NOTES / "life-as-an-ml-engineer.md").read_text().strip()

    reasons = {
        "dotdot": "'..' leads out",
        "absolute": "absolute paths are refused",
        "symlink": "outside the notes folder",
        "hidden": "hidden files",
    }
    for name, reason in reasons.items():
        result = out[name]
        assert result.is_error, name
        assert reason in result.content[0].text and "not a note of yours" not in result.content[0].text


def test_ask_quiz_and_grade(shipped_index, tmp_path):
    reply = "Batch normalization normalizes the inputs of each layer [1]."

    async def steps(session):
        out = {"ask": await session.call_tool("ask_notes", {"question": "What does batch normalization do?"})}
        out["quiz"] = await session.call_tool("quiz", {"topic": "Batch Normalization"})
        quiz = payload(out["quiz"])
        answer = (
            "It normalizes each layer's inputs to zero mean and unit variance over the mini-batch, which "
            "stabilises and speeds up training."
        )
        out["grade"] = await session.call_tool("grade_answer", {"session_id": quiz["session_id"], "answer": answer})
        out["again"] = await session.call_tool("grade_answer", {"session_id": quiz["session_id"], "answer": answer})
        out["no_topic"] = await session.call_tool("quiz", {"topic": "underwater basket weaving"})
        return out

    with FakeLLM(reply) as fake:
        out = call(NOTES, shipped_index, tmp_path, fake.base_url, steps)
        prompts = [r for r in fake.requests if "<notes>" in json.dumps(r)]

    answer = payload(out["ask"])
    assert answer["answer"].startswith("Batch normalization normalizes") and answer["error"] is None
    cited = [s for s in answer["sources"] if s["cited"]]
    assert cited and cited[0]["n"] == 1 and cited[0]["source"] == "ml-fundamentals.md"
    assert prompts and "What does batch normalization do?" in json.dumps(prompts[0])

    quiz = payload(out["quiz"])
    assert quiz["number"] == 1 and quiz["text"].endswith(("?", "."))
    assert "batch normalization" in (quiz["heading"] + quiz["text"]).lower()
    graded = payload(out["grade"])
    assert graded["session_id"] == quiz["session_id"] and 0 <= graded["score"] <= 10
    points = graded["covered"] + graded["missed"]
    assert points and graded["model_answer"] and graded["verdict"] == "graded"
    assert all(p["cite"].startswith(f"{quiz['source']} > ") for p in points)
    assert out["again"].is_error and "no question waiting" in out["again"].content[0].text
    assert out["no_topic"].is_error and "no questions match topic" in out["no_topic"].content[0].text


def test_rag_mcp_http_serves_the_same_tools_on_loopback(shipped_index, tmp_path):
    from mcp.client.streamable_http import streamable_http_client

    port = free_port()
    env = {**os.environ, "RAG_LLM_AUTOSTART": "false", "RAG_INTERVIEW_DIR": str(tmp_path / "interview")}
    rag = os.path.join(os.path.dirname(sys.executable), "rag")
    log = tmp_path / "mcp.log"
    args = [rag, "mcp", "--http", "--port", str(port), "--notes", str(NOTES), "--index", str(shipped_index)]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
    try:
        assert proc.stdout.readline().startswith(f"notes-rag MCP server on http://127.0.0.1:{port}/mcp")

        deadline = time.monotonic() + 30
        while not listening(port):  # the line is printed just before uvicorn binds
            assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
            time.sleep(0.2)

        async def main():
            async with (
                streamable_http_client(f"http://127.0.0.1:{port}/mcp") as (read, write, *_),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                tools = await session.list_tools()
                return tools, await session.call_tool("search_notes", {"query": "What is an epoch?", "k": 1})

        tools, found = anyio.run(main)
        assert {t.name for t in tools.tools} == TOOLS
        assert "epoch" in payload(found)["passages"][0]["heading"].lower()
    finally:
        proc.terminate()
        proc.wait(10)
