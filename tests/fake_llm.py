"""A tiny OpenAI-compatible server for tests where the LLM is not what is under test: it streams a
scripted reply, optionally dropping the connection half-way or ending it as the token limit does
(finish_reason "length"), and records the prompts it was sent."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(
        self, reply: str, die_after: int | None = None, model: str = "fake-model", finish_reason: str = "stop"
    ):
        self.reply = reply
        self.die_after = die_after  # pieces sent before the connection drops
        self.finish_reason = finish_reason  # "length": the reply was cut at max_tokens
        self.model = model
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = json.dumps({"data": [{"id": fake.model}]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                request = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.requests.append(request)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                pieces = fake.reply.split(" ")
                for n, word in enumerate(pieces):
                    if fake.die_after is not None and n == fake.die_after:
                        self.wfile.flush()
                        self.connection.shutdown(2)  # the server "dies" mid-answer
                        return
                    text = word if n == 0 else " " + word
                    event = {
                        "id": "x",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": fake.model,
                        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                done = {
                    "id": "x",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": fake.model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": fake.finish_reason}],
                }
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
