"""notes-rag: answers over your own ML notes with a locally served LLM, with sources.

This is the public surface: the front ends (the CLI, the MCP server, the OpenAI-compatible API, the
browser app in `ui/`) use only the names below.

    from rag import Assistant
    a = Assistant(notes_dir="notes")
    a.ingest()
    stream = a.stream("What does dropout do?")
    for piece in stream:          # the model's draft as it is written
        print(piece, end="")
    answer = stream.answer        # the checked Answer, with its sources
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.control_chars import strip_control
    from rag.answer.compose import how_made
    from rag.answer.followup import plain_messages
    from rag.answer.source_groups import LEGEND, SourceGroup, group_sources, mark
    from rag.assistant import Assistant
    from rag.errors import (
        BadRequest,
        IndexBusy,
        IndexCorrupt,
        IndexMissing,
        IndexProblem,
        IndexWriteError,
        InterviewError,
        LLMStreamError,
        LLMUnavailable,
        ModelPrepError,
        NoNotes,
        NoteRefused,
        NotesFolderError,
        RagError,
        ServerError,
        UnsafeBinding,
    )
    from rag.interview.progress import Progress, TopicProgress
    from rag.interview.progress_plot import plot_progress
    from rag.interview.session import DIFFICULTIES, MARKS, MODES, UNSURE, Feedback, InterviewSession
    from rag.library.history import HistoryEntry
    from rag.library.links import location, note_url
    from rag.library.related import Related, RelatedNote
    from rag.library.scope import Scopes
    from rag.library.watch import NotesWatcher
    from rag.llm.vllm_server import ServerState
    from rag.settings import LOOPBACK, Settings, check_binding
    from rag.types import ANSWER_MODES, Answer, AnswerMode, AnswerStream, Chunk, Hit, Made, Source

from rag import errors as _errors  # no dependencies; its __all__ is the list of what the API raises

# Imported on first use (PEP 562): `import rag.frontends.cli` runs this file, and `rag --help` should not
# pay for the whole API.
_HOME = {
    "Assistant": "rag.assistant",
    "Settings": "rag.settings",
    "LOOPBACK": "rag.settings",
    "check_binding": "rag.settings",
    **dict.fromkeys(
        ["Answer", "AnswerMode", "ANSWER_MODES", "AnswerStream", "Chunk", "Hit", "Made", "Source"], "rag.types"
    ),
    **dict.fromkeys(_errors.__all__, "rag.errors"),
    "how_made": "rag.answer.compose",
    "plain_messages": "rag.answer.followup",
    **dict.fromkeys(["LEGEND", "SourceGroup", "group_sources", "mark"], "rag.answer.source_groups"),
    **dict.fromkeys(
        ["DIFFICULTIES", "MARKS", "MODES", "UNSURE", "Feedback", "InterviewSession"], "rag.interview.session"
    ),
    **dict.fromkeys(["Progress", "TopicProgress"], "rag.interview.progress"),
    "plot_progress": "rag.interview.progress_plot",
    "HistoryEntry": "rag.library.history",
    **dict.fromkeys(["location", "note_url"], "rag.library.links"),
    "NotesWatcher": "rag.library.watch",
    **dict.fromkeys(["Related", "RelatedNote"], "rag.library.related"),
    "Scopes": "rag.library.scope",
    "ServerState": "rag.llm.vllm_server",
    "strip_control": "ingest.control_chars",
}
__all__ = list(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
