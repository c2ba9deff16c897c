"""What ingestion raises on purpose. `RagError` is the base of every error notes-rag raises on purpose;
it is defined here, in the lowest layer, so that ingest's errors are the API's errors too (`rag.errors`
re-exports them). Every message names the problem and the fix in one line."""

from __future__ import annotations


class RagError(Exception):
    """An error the user can act on; `str(e)` is the one line to show."""


class NotesFolderError(RagError, RuntimeError):
    """The notes folder is missing or cannot be read."""


class IndexProblem(RagError, RuntimeError):
    """Base for index problems; the message always says what to run."""


class IndexMissing(IndexProblem):
    """No index yet."""


class IndexCorrupt(IndexProblem):
    """The index on disk is damaged or from another version: rebuild it."""


class IndexBusy(IndexProblem):
    """Another ingest holds the index."""


class IndexWriteError(IndexProblem):
    """The index could not be written (disk, permissions); the previous one stays in use."""
