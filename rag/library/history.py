"""Every question asked and its answer, kept in SQLite beside the index (as simonw/llm keeps its log):
`rag history`, `Assistant.history`, the browser's history panel, and the questions the notes could not
answer in `rag progress`.

Full-text search uses FTS5 when the Python's SQLite has it, else a LIKE per word.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.types import Answer

FILE_NAME = "history.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    mode TEXT NOT NULL,
    made TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    sources TEXT NOT NULL
)
"""
# the same rowid as `entries`: a hit there is the entry of that id
FTS_SCHEMA = "CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(question, answer)"
COLUMNS = "id, time, question, answer, mode, made, abstained, sources"


@dataclass
class HistoryEntry:
    id: int
    time: str  # ISO 8601, UTC, when the answer was complete
    question: str
    answer: str
    mode: str  # how it was asked: verified | extractive | raw | closed-book
    made: str  # how it was answered: generated | extractive | abstained
    abstained: bool
    sources: list[dict] = field(default_factory=list)  # {"source", "heading", "lines": [start, end], "cited"}

    def to_json(self) -> dict:
        return asdict(self)


def _row(row: tuple) -> HistoryEntry:
    *head, abstained, sources = row
    return HistoryEntry(*head, abstained=bool(abstained), sources=json.loads(sources))


def _fts_query(text: str) -> str:
    # every word as a quoted phrase: a user's "what's" or "a-b" is text to find, not FTS5 syntax
    return " ".join('"' + word.replace('"', '""') + '"' for word in text.split())


class History:
    def __init__(self, path: Path):
        self.path = path
        self._fts: bool | None = None

    def _connect(self) -> sqlite3.Connection:
        # one connection per call: the browser app logs from several threads
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute(SCHEMA)
        if self._fts is not False:
            try:
                db.execute(FTS_SCHEMA)
                self._fts = True
            except sqlite3.OperationalError:  # a SQLite built without FTS5
                self._fts = False
        return db

    def add(self, answer: Answer, question: str, mode: str) -> int:
        """Keep a finished answer; its id."""
        sources = [
            {"source": s.source, "heading": s.heading, "lines": [s.line_start, s.line_end], "cited": s.cited}
            for s in answer.sources
        ]
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        row = (now, question, answer.text, mode, answer.mode, answer.mode == "abstained", json.dumps(sources))
        with closing(self._connect()) as db, db:
            cursor = db.execute(
                "INSERT INTO entries (time, question, answer, mode, made, abstained, sources) VALUES (?,?,?,?,?,?,?)",
                row,
            )
            if self._fts:
                db.execute(
                    "INSERT INTO entries_fts (rowid, question, answer) VALUES (?,?,?)",
                    (cursor.lastrowid, question, answer.text),
                )
            return cursor.lastrowid

    def search(self, text: str | None = None, limit: int = 20, abstained: bool | None = None) -> list[HistoryEntry]:
        """The newest entries first; with `text`, those whose question or answer has every word of it;
        with `abstained`, only those the notes could (not) answer."""
        if not self.path.exists():
            return []
        where, args = [], []
        if abstained is not None:
            where.append("abstained = ?")
            args.append(abstained)
        with closing(self._connect()) as db:
            if text and text.split() and self._fts:
                where.append("id IN (SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?)")
                args.append(_fts_query(text))
            elif text and text.split():
                for word in text.split():
                    where.append("(question LIKE ? OR answer LIKE ?)")
                    args += [f"%{word}%"] * 2
            sql = f"SELECT {COLUMNS} FROM entries"
            sql += f" WHERE {' AND '.join(where)}" if where else ""
            rows = db.execute(f"{sql} ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_row(r) for r in rows]

    def clear(self) -> int:
        """Delete every entry; how many there were."""
        if not self.path.exists():
            return 0
        with closing(self._connect()) as db, db:
            count = db.execute("SELECT count(*) FROM entries").fetchone()[0]
            db.execute("DELETE FROM entries")
            if self._fts:
                db.execute("DELETE FROM entries_fts")
        with closing(sqlite3.connect(self.path)) as db:
            db.execute("VACUUM")  # deleted means gone from the file too, not just unlisted
        return count
