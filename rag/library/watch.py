"""Keep the index current while something runs: watch the notes folder and re-ingest after each burst of
changes (`rag watch`, and `rag ui` in a background thread). Questions asked meanwhile are answered from
the generation in place; the swap to the new one is atomic (ingest/store.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.documents import SUPPORTED
from ingest.pipeline import IngestStats
from rag.errors import IndexProblem, NotesFolderError

if TYPE_CHECKING:
    from rag.assistant import Assistant

# An editor's save is several events (swap file, write, rename): wait until the folder has been quiet
# this long, but group for no longer than MAX_GROUP_MS while changes keep coming.
QUIET_MS = 300
MAX_GROUP_MS = 1600
# how often the watcher wakes with nothing changed, to notice stop(); the first wake does the catch-up ingest
WAKE_MS = 200
# a manual `rag ingest` or a question's own update may hold the lock; the watcher waits its turn
LOCK_WAIT_SECONDS = 120.0
# after a failed ingest (the index busy for longer, a full disk, the model failing to load) the watcher
# tries again this often even if nothing else changes
RETRY_SECONDS = 30.0


class NotesWatcher:
    def __init__(
        self,
        assistant: Assistant,
        on_ingest: Callable[[IngestStats], None],
        on_error: Callable[[str], None],
        on_notice: Callable[[str], None] | None = None,
        on_progress: Callable[[list[str], str, int, int], None] | None = None,
    ):
        self.assistant = assistant
        self.on_ingest = on_ingest  # called after each ingest that changed the index
        self.on_error = on_error  # one line; the watcher carries on
        # a file skipped or warned about (binary now, broken front matter): once, while it stays so
        self.on_notice = on_notice
        # (the notes changed, stage, done, total) while an ingest runs: a big note takes minutes
        self.on_progress = on_progress
        self._said: set[str] = set()
        self.ready = threading.Event()  # set once edits made before watching started are in the index
        self._retry_at: float | None = (
            0.0  # when to ingest without a new change (the catch-up, a retry); None: not needed
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def relevant(self, _change, path: str) -> bool:
        """A note, or what may be a folder (a deleted path cannot be asked); not hidden (.obsidian/ writes often)."""
        try:
            parts = Path(path).relative_to(self.assistant.notes_dir.resolve()).parts
        except ValueError:
            return False
        suffix = Path(path).suffix.lower()
        return not any(p.startswith(".") for p in parts) and (suffix in SUPPORTED or not suffix)

    def run(self) -> None:
        """Blocks until `stop()` (or Ctrl-C): first brings the index up to date with edits made while
        nothing watched, then re-ingests after every burst of changes."""
        import watchfiles

        if not self.assistant.notes_dir.is_dir():
            raise NotesFolderError(
                f"{self.assistant.notes_dir}: notes folder not found; pass an existing folder (--notes PATH) or "
                "set notes_dir"
            )
        # Watching starts before the catch-up ingest (the first, empty wake), so nothing saved during it is missed.
        for changes in watchfiles.watch(
            self.assistant.notes_dir,
            watch_filter=self.relevant,
            step=QUIET_MS,
            debounce=MAX_GROUP_MS,
            rust_timeout=WAKE_MS,
            yield_on_timeout=True,
            stop_event=self._stop,
            raise_interrupt=False,
        ):
            if changes or (self._retry_at is not None and time.monotonic() >= self._retry_at):
                self._ingest(sorted({self._name(path) for _, path in changes}))

    def _name(self, path: str) -> str:
        return Path(path).relative_to(self.assistant.notes_dir.resolve()).as_posix()

    def _ingest(self, notes: list[str]) -> None:
        report = self.on_progress
        progress = (lambda stage, done, total: report(notes, stage, done, total)) if report else None
        try:
            stats = self.assistant.ingest(progress=progress, lock_wait_seconds=LOCK_WAIT_SECONDS)
        except Exception as e:  # noqa: BLE001 - one failed ingest must not end the watching
            self.on_error(str(e) if isinstance(e, (IndexProblem, NotesFolderError)) else f"{type(e).__name__}: {e}")
            self._retry_at = time.monotonic() + RETRY_SECONDS
            return
        self._retry_at = None
        self.ready.set()
        if stats.changed:
            self.on_ingest(stats)
        lines = [*map(str, stats.skipped), *stats.warnings]
        if not stats.files:
            lines.append(f"{self.assistant.notes_dir}: no notes yet; each .md, .txt or .pdf is read as it comes")
        self._tell(lines)

    def _tell(self, lines: list[str]) -> None:
        """What the ingest skipped or warned about, each line once: a note that stays broken is read,
        and reported, again by every ingest, and one whose problem went is said again if it returns."""
        for line in lines:
            if self.on_notice and line not in self._said:
                self.on_notice(line)
        self._said = set(lines)

    def start(self) -> NotesWatcher:
        """`run` in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="notes-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
