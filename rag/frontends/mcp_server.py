"""`rag mcp`: the notes over the Model Context Protocol, for desktop AI clients and agents.

Built on the official SDK's `MCPServer` (mcp 2.x; FastMCP in 1.x). stdio is what desktop clients start;
streamable HTTP binds loopback only, as the protocol carries no login here. Every tool goes through the
public `Assistant`; a failure the user can fix comes back as a tool error with its one-line reason.

    python -m rag.frontends.mcp_server            # stdio; RAG_NOTES_DIR / RAG_INDEX_DIR choose the notes
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from rag import Assistant, InterviewError, RagError

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "The user's own machine-learning notes. search_notes finds passages (file > heading, line span); "
    "read_note reads a note or one heading of it; ask_notes answers from the notes with [n] citations; "
    "quiz and grade_answer run a mock-interview question graded against the notes."
)


@contextmanager
def _reasons() -> Iterator[None]:
    """What the user can fix (no index yet, a refused path, an unknown topic) reaches the client as
    the message itself; anything else stays a crash the SDK logs."""
    try:
        yield
    except RagError as e:
        raise ToolError(str(e)) from None


def build_server(assistant: Assistant) -> MCPServer:
    # WARNING: at INFO the SDK logs every refused path and the libraries their load messages to stderr
    server = MCPServer("notes-rag", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def search_notes(query: str, k: int = 5, source: str | None = None, tag: str | None = None) -> dict:
        """Passages of the notes that match the query, best first: file, heading path, line span, text.
        `source` keeps one note (its path as list_notes gives it); `tag` keeps notes with that tag."""
        with _reasons():
            hits = assistant.retrieve(query, k=k, sources=[source] if source else None, tags=[tag] if tag else None)
        return {"passages": [h.to_json() for h in hits]}

    @server.tool()
    def read_note(path: str, heading: str | None = None) -> dict:
        """A note's text, or only the section under `heading` ("Batch Normalization", or the end of a
        heading path "Regularization > Dropout"). Only files inside the notes folder."""
        with _reasons():
            return assistant.read_note(path, heading).to_json()

    @server.tool()
    def list_notes() -> dict:
        """Every note in the notes folder, with its size and indexed chunk count."""
        with _reasons():
            return {"notes_dir": str(assistant.notes_dir), "notes": assistant.list_notes()}

    @server.tool()
    def ask_notes(question: str) -> dict:
        """An answer from the local LLM, grounded in the notes, with [n] citations and the sources.
        When no LLM answers, `error` says so and the answer lists the best passages instead."""
        with _reasons():
            return assistant.ask(question).to_json()

    @server.tool()
    def quiz(topic: str | None = None, difficulty: str | None = None) -> dict:
        """One mock-interview question from the notes (of `topic`, a heading, term or file name; easy,
        medium or hard). Answer it with grade_answer and the session_id."""
        with _reasons():
            session = assistant.interview(topic=topic, n=1, difficulty=difficulty)
            question = session.next_question()
        return {"session_id": session.id, **asdict(question)}

    @server.tool()
    def grade_answer(session_id: str, answer: str) -> dict:
        """Grade an answer to a quiz question: a 0-10 score, the key points covered and missed (cited
        as file > heading) and the model answer from the notes."""
        with _reasons():
            session = assistant.interview(resume=session_id)
            if session.current is None:
                raise InterviewError(
                    f"session {session_id} has no question waiting for an answer; call quiz for a new one"
                )
            question = session.current.question.text
            feedback = session.answer(answer)
        return {"session_id": session_id, "question": question, **feedback.to_json()}

    return server


def serve(assistant: Assistant, http: bool = False, port: int | None = None) -> None:
    server = build_server(assistant)
    if http:
        server.run(
            "streamable-http", host="127.0.0.1", port=port or assistant.settings.mcp_port, streamable_http_path=MCP_PATH
        )
    else:
        server.run()


if __name__ == "__main__":
    serve(Assistant())
