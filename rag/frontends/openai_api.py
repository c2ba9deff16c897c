"""`rag api`: the assistant behind an OpenAI-compatible `/v1/chat/completions`, so any OpenAI client or
chat front end can talk to the notes.

The reply's content is the answer with its sources appended as numbered footnotes (what a plain chat
front end shows); the response also carries them as data in `sources`, and the rest of the `Answer`
(timings, citation checks, errors) in `rag`. Sampling and retrieval follow the server's settings; a
client's own system prompt is dropped, as the notes' prompt template is what keeps answers grounded.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from rag import Answer, Assistant, BadRequest, IndexProblem, check_binding, plain_messages

MODEL_ID = "notes-rag"
# mark the parts of a reply, so a client sending the turn back gives the model only the checked answer
FOOTNOTES = "\n\n---\nSources:\n"


def footnotes(answer: Answer) -> str:
    """The cited sources, numbered as the answer cites them; all of them when nothing was cited (the
    passages-only reply when no LLM answers numbers its passages the same way)."""
    shown = [s for s in answer.sources if s.cited] or answer.sources
    if not shown:
        return ""
    return FOOTNOTES + "\n".join(f"[{s.n}] {s.source} > {s.heading}" for s in shown)


def conversation(messages: list[dict]) -> list[dict]:
    """The user and assistant turns as text, our footnotes cut from earlier replies."""
    turns = plain_messages([m for m in messages if m.get("role") in ("user", "assistant")])
    for turn in turns:
        if turn["role"] == "assistant":
            turn["content"] = turn["content"].split(FOOTNOTES, 1)[0]
    if not turns or turns[-1]["role"] != "user" or not turns[-1]["content"].strip():
        raise HTTPException(400, "the last message must be the user's question, with some text")
    return turns


def scope(body: dict) -> dict:
    """The notes a request is limited to: a model named `notes:TAG`, `notes:tag=TAG` or
    `notes:source=NAME` (what a chat front end that only lets one pick a model can send), and the
    request's own `source` and `tag` fields (a name or a list of names)."""
    sources, tags = _names(body, "source"), _names(body, "tag")
    model = str(body.get("model") or "")
    prefix, colon, rest = model.partition(":")
    if colon and prefix == "notes":
        key, equals, value = rest.partition("=")
        if not equals:
            tags.append(rest)
        elif key in ("source", "tag") and value:
            (sources if key == "source" else tags).append(value)
        else:
            raise HTTPException(400, f"model {model!r}: name a scope as notes:TAG, notes:tag=TAG or notes:source=NAME")
    return {"sources": sources or None, "tags": tags or None}


def _names(body: dict, field: str) -> list[str]:
    given = body.get(field) or []
    names = [given] if isinstance(given, str) else given
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise HTTPException(400, f"the request's {field!r} must be a name or a list of names")
    return list(names)


def _extras(answer: Answer) -> dict:
    data = answer.to_json()
    return {"sources": data.pop("sources"), "rag": data}


def create_app(assistant: Assistant) -> FastAPI:
    app = FastAPI(title="notes-rag", description="OpenAI-compatible chat over your notes")
    key = assistant.settings.api_key

    def authorised(request: Request) -> None:
        if not key:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), key.encode()):
            raise HTTPException(401, "missing or wrong API key: send it as 'Authorization: Bearer <api_key>'")

    @app.exception_handler(HTTPException)
    async def openai_error(request: Request, exc: HTTPException) -> JSONResponse:
        # the shape OpenAI clients parse into their exception's message
        kind = "invalid_api_key" if exc.status_code == 401 else "invalid_request_error"
        return JSONResponse({"error": {"message": exc.detail, "type": kind, "code": kind}}, status_code=exc.status_code)

    @app.get("/v1/models", dependencies=[Depends(authorised)])
    def models() -> dict:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "notes-rag"}]}

    @app.post("/v1/chat/completions", dependencies=[Depends(authorised)])
    async def chat_completions(request: Request):
        try:
            body = await request.json()
            messages = conversation(body["messages"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise HTTPException(
                400, "the body must be JSON with a list of messages, as OpenAI's chat completions take"
            ) from None
        head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": MODEL_ID}
        limits = scope(body)
        if body.get("stream"):
            return StreamingResponse(_stream(assistant, messages, head, limits), media_type="text/event-stream")
        return await _complete(assistant, messages, head, limits)

    return app


async def _complete(assistant: Assistant, messages: list[dict], head: dict, limits: dict) -> dict:
    try:
        answer = await run_in_threadpool(assistant.chat, messages, **limits)
    except BadRequest as e:
        raise HTTPException(400, str(e)) from None
    except IndexProblem as e:
        raise HTTPException(503, str(e)) from None
    return {
        **head,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text + footnotes(answer)},
                "finish_reason": "stop",
            }
        ],
        "usage": None,
        **_extras(answer),
    }


def _stream(assistant: Assistant, messages: list[dict], head: dict, limits: dict) -> Iterator[str]:
    """Server-sent events as OpenAI streams them: the answer (in raw mode the pieces as the model
    writes them); the footnotes; a last chunk with finish_reason, `sources` and `rag`; then [DONE]."""

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {
            **head,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    # A client cannot take streamed text back: unless the answer is raw (unchecked), only the checked
    # answer is sent, once it is known; the model's draft never reaches the client.
    draft = assistant.settings.answer_mode == "raw"
    try:
        stream = assistant.stream_chat(messages, **limits)
        for piece in stream:
            if draft:
                yield event({"content": piece})
        answer = stream.answer
        if not draft:
            yield event({"content": answer.text})
        yield event({"content": footnotes(answer)})
        yield event({}, "stop", **_extras(answer))
    except BadRequest as e:
        yield f"data: {json.dumps({'error': {'message': str(e), 'type': 'invalid_request_error', 'code': 400}})}\n\n"
    except IndexProblem as e:
        yield f"data: {json.dumps({'error': {'message': str(e), 'type': 'index_unavailable', 'code': 503}})}\n\n"
    yield "data: [DONE]\n\n"


def server(assistant: Assistant, host: str, port: int) -> uvicorn.Server:
    """The endpoint, ready to `run()`; refuses a binding off loopback without a key (UnsafeBinding)."""
    check_binding(
        host, assistant.settings.api_key, "serve your notes to the network without a key", "set api_key (RAG_API_KEY)"
    )
    return uvicorn.Server(uvicorn.Config(create_app(assistant), host=host, port=port, log_level="warning"))
