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

from rag import Assistant, BadRequest, InterviewError, RagError

MCP_PATH = "/mcp"
INSTRUCTIONS = (
    "The user's own machine-learning notes. search_notes finds passages (file > heading, line span); "
    "search_notes, ask_notes and quiz take a note or folder (`source`) or a `tag` to stay within; "
    "related_notes lists what a note links to, what links to it and the notes closest in meaning; "
    "read_note reads a note or one heading of it; ask_notes answers from the notes with [n] citations; "
    "quiz and grade_answer run a mock-interview question graded against the notes; grade_answer also grades "
    "an answer to any question (question=, optional source=)."
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
        `source` keeps one note (its name or path as list_notes gives it) or folder; `tag` keeps notes
        with that tag. A source or tag that names nothing is an error listing the closest names."""
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
    def ask_notes(question: str, source: str | None = None, tag: str | None = None) -> dict:
        """An answer from the local LLM, grounded in the notes, with [n] citations and the sources.
        When no LLM answers, `error` says so and the answer lists the best passages instead. `source`
        (a note or folder) and `tag` limit the notes it draws on, as in search_notes."""
        with _reasons():
            return assistant.ask(question, sources=[source] if source else None, tags=[tag] if tag else None).to_json()

    @server.tool()
    def quiz(
        topic: str | None = None, difficulty: str | None = None, source: str | None = None, tag: str | None = None
    ) -> dict:
        """One mock-interview question from the notes (of `topic`, a heading, term or file name; easy,
        medium or hard; only from the note or folder `source`, or notes with `tag`). Answer it with
        grade_answer and the session_id."""
        with _reasons():
            scope = {"sources": [source] if source else None, "tags": [tag] if tag else None}
            session = assistant.interview(topic=topic, n=1, difficulty=difficulty, **scope)
            question = session.next_question()
        return {"session_id": session.id, **asdict(question)}

    @server.tool()
    def related_notes(note: str, k: int = 5) -> dict:
        """The notes related to `note` (as list_notes names it): what it links to and embeds, what links
        to it, and the `k` notes closest in meaning, each with its reason."""
        with _reasons():
            return assistant.related(note, k=k).to_json()

    _add_grade_answer(server, assistant)
    return server


def _add_grade_answer(server: MCPServer, assistant: Assistant) -> None:
    """The grading tool, with its two ways in (a quiz session, or any question against the notes)."""

    @server.tool()
    def grade_answer(
        answer: str,
        session_id: str | None = None,
        question: str | None = None,
        source: str | None = None,
        heading: str | None = None,
    ) -> dict:
        """Grade an answer: to a quiz question (its `session_id`), or to any `question` against the
        notes (the best-matching section, or the note `source` and its `heading` when given). Returns
        a 0-10 score, the key points covered, contradicted and missed (cited as file > heading), the
        model answer from the notes and notices (which section was used, a judge that failed)."""
        with _reasons():
            if session_id is None:
                if question is None:
                    raise BadRequest("give the session_id of a quiz question, or the question the answer is for")
                return {"question": question, **assistant.grade(question, answer, source, heading).to_json()}
            session = assistant.interview(resume=session_id)
            if session.current is None:
                raise InterviewError(
                    f"session {session_id} has no question waiting for an answer; call quiz for a new one"
                )
            question = session.current.question.text
            feedback = session.answer(answer)
        return {"session_id": session_id, "question": question, **feedback.to_json()}


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
