"""Everything the API raises on purpose, under one base: `except RagError` catches what a user can fix,
and `str(e)` is the one line that says the problem and the fix.

    RagError
    ├── NotesFolderError    the notes folder is missing or unreadable
    ├── IndexProblem        no index yet, damaged, busy (another ingest), not writable
    │   ├── IndexMissing, IndexCorrupt, IndexBusy, IndexWriteError
    ├── NoNotes             no notes folder, or no notes in it, so no index (a NotesFolderError and an IndexMissing)
    ├── BadRequest          an empty question, k out of range, an unknown source or tag
    ├── LLMUnavailable      nothing answers at llm_base_url (and it could not be started)
    ├── LLMStreamError      the LLM went away mid-answer
    ├── ServerError         the local vLLM server would not start or stop
    ├── ModelPrepError      the packaged model could not be prepared for vLLM
    ├── NoteRefused         a path outside the notes folder, or no such note or heading
    ├── InterviewError      a session that cannot be planned, found or resumed
    └── UnsafeBinding       a server asked to listen off loopback without a login or key

Anything else is a bug, and surfaces as one.
"""

from __future__ import annotations

from ingest.errors import (
    IndexBusy,
    IndexCorrupt,
    IndexMissing,
    IndexProblem,
    IndexWriteError,
    NotesFolderError,
    RagError,
)

__all__ = [
    "RagError",
    "NotesFolderError",
    "IndexProblem",
    "IndexMissing",
    "IndexCorrupt",
    "IndexBusy",
    "IndexWriteError",
    "NoNotes",
    "BadRequest",
    "LLMUnavailable",
    "LLMStreamError",
    "ServerError",
    "ModelPrepError",
    "NoteRefused",
    "InterviewError",
    "UnsafeBinding",
]


class NoNotes(NotesFolderError, IndexMissing):
    """The notes folder is missing or holds no note, so there is no index to answer from: both a
    NotesFolderError and an IndexMissing, so that a front end catching either says it (and never sends
    the user to `rag ingest`, which would only say the same)."""


class BadRequest(RagError, ValueError):
    """A question, k, source or tag the API cannot use; the message says what to give instead."""


class LLMUnavailable(RagError, RuntimeError):
    """Nothing answers at the configured endpoint."""


class LLMStreamError(RagError, RuntimeError):
    """The server went away or failed in the middle of an answer."""


class ServerError(RagError, RuntimeError):
    """The local vLLM server could not be started, or is not ours to stop."""


class ModelPrepError(RagError, RuntimeError):
    """The packaged model could not be turned into a folder vLLM loads."""


class NoteRefused(RagError, ValueError):
    """The path names nothing the assistant may read; the message says why."""


class InterviewError(RagError, ValueError):
    """A session cannot be planned or found; the message says what to change."""


class UnsafeBinding(RagError, ValueError):
    """A server would be reachable from the network without a login or key; the message says what to set."""
