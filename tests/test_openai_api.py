"""`rag api`: the OpenAI-compatible endpoint, driven by the official `openai` client against the server
running in-process on a free port. The LLM behind the assistant is the scripted fake: the endpoint's
protocol is under test, not the model."""

from __future__ import annotations

import json
import threading
import time

import httpx
import openai
import pytest
from fake_llm import FakeLLM
from helpers import NOTES, free_port

from rag import Assistant, UnsafeBinding
from rag.frontends.openai_api import FOOTNOTES, server

REPLY = "Batch normalization normalizes the inputs of each layer [1]."


@pytest.fixture
def fake():
    with FakeLLM(REPLY) as llm:
        yield llm


@pytest.fixture
def start_api(shipped_index, fake):
    """Serve an assistant over the shipped index, talking to the fake LLM; returns the /v1 URL."""
    running = []

    def start(host: str = "127.0.0.1", **settings) -> str:
        assistant = Assistant(
            notes_dir=NOTES, index_dir=shipped_index, llm_base_url=fake.base_url, llm_autostart=False, **settings
        )
        port = free_port()
        api = server(assistant, host, port)
        thread = threading.Thread(target=api.run, daemon=True)
        thread.start()
        running.append((api, thread))
        deadline = time.monotonic() + 30
        while not api.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
            time.sleep(0.05)
        return f"http://{host}:{port}/v1"

    yield start
    for api, thread in running:
        api.should_exit = True
        thread.join(10)


def test_models_and_a_completion_with_sources(start_api):
    client = openai.OpenAI(base_url=start_api(), api_key="unused")
    assert [m.id for m in client.models.list()] == ["notes-rag"]

    done = client.chat.completions.create(
        model="notes-rag", messages=[{"role": "user", "content": "What does batch normalization do?"}]
    )
    content = done.choices[0].message.content
    answer, _, notes = content.partition(FOOTNOTES)
    # the content is the Answer's text (checked against the notes), then the footnotes
    assert answer == done.model_extra["rag"]["answer"] and done.choices[0].finish_reason == "stop"
    assert "normalizes the inputs of each layer" in answer and "[1]" in answer
    # the footnotes are the cited sources, numbered as the answer cites them
    assert notes.startswith("[1] ml-fundamentals.md > ") and "Batch Normalization" in notes.splitlines()[0]
    sources = done.model_extra["sources"]
    assert sources[0]["n"] == 1 and sources[0]["cited"] and sources[0]["source"] == "ml-fundamentals.md"
    assert len(notes.splitlines()) == sum(s["cited"] for s in sources)
    assert done.model_extra["rag"]["error"] is None


def test_streaming_sends_the_checked_answer_then_footnotes_then_sources(start_api, fake):
    fake.reply = (
        "Batch normalization normalizes the inputs of each layer [9]. "
        "It helps address the issue of internal covariate shift [1]. It was invented on the moon [1]."
    )
    client = openai.OpenAI(base_url=start_api(), api_key="unused")
    question = [{"role": "user", "content": "What does batch normalization do?"}]
    chunks = list(client.chat.completions.create(model="notes-rag", messages=question, stream=True))
    text, _, notes = "".join(c.choices[0].delta.content or "" for c in chunks).partition(FOOTNOTES)
    last = chunks[-1]
    # the model's draft (a made-up block number, an invented sentence) never reaches the client
    checked = last.model_extra["rag"]["answer"]
    assert text == checked and "[9]" not in text and "moon" not in text
    assert "normalizes the inputs of each layer" in text
    assert last.model_extra["rag"]["not_in_notes"] == ["It was invented on the moon."]
    assert notes.startswith("[1] ml-fundamentals.md > ")
    assert last.choices[0].finish_reason == "stop" and last.model_extra["sources"][0]["source"] == "ml-fundamentals.md"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_raw_mode_streams_the_pieces_as_the_model_writes_them(start_api, fake):
    client = openai.OpenAI(base_url=start_api(answer_mode="raw"), api_key="unused")
    chunks = list(
        client.chat.completions.create(
            model="notes-rag", messages=[{"role": "user", "content": "What does batch normalization do?"}], stream=True
        )
    )
    pieces = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(pieces) > 3  # word by word, not one block at the end
    assert "".join(pieces).partition(FOOTNOTES)[0].startswith(REPLY)


def test_a_turn_sent_back_reaches_the_model_without_footnotes(start_api, fake):
    client = openai.OpenAI(base_url=start_api(), api_key="unused")
    question = [{"role": "user", "content": "What does batch normalization do?"}]
    chunks = list(client.chat.completions.create(model="notes-rag", messages=question, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    checked = chunks[-1].model_extra["rag"]["answer"]

    # sent back as the client got it, the turn is the checked answer alone
    client.chat.completions.create(
        model="notes-rag",
        messages=[*question, {"role": "assistant", "content": text}, {"role": "user", "content": "Why?"}],
    )
    [earlier] = [m for m in fake.requests[-1]["messages"] if m["role"] == "assistant"]
    assert earlier["content"] == checked


def test_multi_turn_keeps_the_conversation(start_api, fake):
    client = openai.OpenAI(base_url=start_api(), api_key="unused")
    first = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "What does batch normalization do?"},
    ]
    reply = client.chat.completions.create(model="notes-rag", messages=first).choices[0].message.content
    answer = reply.partition(FOOTNOTES)[0]
    follow_up = [*first, {"role": "assistant", "content": reply}, {"role": "user", "content": "Why does it help?"}]
    done = client.chat.completions.create(model="notes-rag", messages=follow_up)

    sent = fake.requests[-1]["messages"]
    said = json.dumps(sent)
    assert "What does batch normalization do?" in said and json.dumps(answer)[1:-1] in said
    assert "Sources:" not in json.dumps([m for m in sent if m["role"] == "assistant"])  # footnotes cut from history
    assert "pirate" not in said  # the client's system prompt is not the notes' prompt
    assert sent[-1]["role"] == "user" and "Why does it help?" in sent[-1]["content"]
    # "it" was resolved from the earlier question: the passages are about batch normalization
    assert "Batch Normalization" in done.model_extra["sources"][0]["heading"]


def test_a_key_is_required_off_loopback_and_checked(start_api, shipped_index):
    with pytest.raises(UnsafeBinding, match="RAG_API_KEY"):
        server(Assistant(notes_dir=NOTES, index_dir=shipped_index, api_key=None), "127.0.0.2", free_port())

    # 127.0.0.2 is loopback to the kernel but not one of the names the check trusts: "elsewhere"
    url = start_api(host="127.0.0.2", api_key="s3cret")
    question = [{"role": "user", "content": "What does batch normalization do?"}]
    with pytest.raises(openai.AuthenticationError) as refused:
        openai.OpenAI(base_url=url, api_key="wrong").chat.completions.create(model="notes-rag", messages=question)
    assert refused.value.status_code == 401 and "Bearer" in refused.value.message
    assert httpx.get(f"{url}/models").status_code == 401

    client = openai.OpenAI(base_url=url, api_key="s3cret")
    assert (
        "normalizes the inputs"
        in client.chat.completions.create(model="notes-rag", messages=question).choices[0].message.content
    )


def test_bad_requests_get_openai_shaped_errors(start_api):
    url = start_api()
    no_question = httpx.post(
        f"{url}/chat/completions", json={"model": "notes-rag", "messages": [{"role": "assistant", "content": "hi"}]}
    )
    assert (
        no_question.status_code == 400 and "last message must be the user's" in no_question.json()["error"]["message"]
    )
    empty = httpx.post(
        f"{url}/chat/completions",
        json={"model": "notes-rag", "messages": [{"role": "user", "content": [{"type": "text", "text": " "}]}]},
    )
    assert empty.status_code == 400 and "with some text" in empty.json()["error"]["message"]
    garbage = httpx.post(f"{url}/chat/completions", content=b"not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 400 and "list of messages" in garbage.json()["error"]["message"]
