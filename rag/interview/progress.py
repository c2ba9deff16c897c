"""What practice has achieved and what to study next: per-topic mastery from the interview sessions and
the Leitner boxes, the cards due today, scores over time, and a study list (weak and never-drilled
topics, questions the notes could not answer, points missed or contradicted in recent sessions).
`rag progress`, `Assistant.progress()` and the browser's Progress tab; the plot is progress_plot.py.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from rag.interview.concepts import concepts_from_chunks
from rag.interview.leitner import TOP_BOX, due_date
from rag.interview.session import InterviewSession, topic_group

if TYPE_CHECKING:
    from rag.assistant import Assistant

RECENT_ANSWERS = 5  # a topic's mastery follows its last few answers, not its whole past
RECENT_SESSIONS = 3  # missed points are taken from these; older ones have likely been studied since
LISTED = 10  # the most a study list shows of each kind


@dataclass
class TopicProgress:
    topic: str  # a note and its section: "ml-fundamentals > Parts of a DNN"
    mastery: float  # 0-1: the mean of the last answers' scores / 10 and how far up the boxes its cards are
    answers: int
    mean_score: float | None  # of the last RECENT_ANSWERS answers
    cards: int
    mean_box: float | None
    due: int  # its cards due today
    weak: bool  # recent answers below the pass score, or a card back in box 1


@dataclass
class Progress:
    topics: list[TopicProgress]  # weakest first
    due_today: list[dict]  # {"term", "topic", "box", "last_answer", "due"}
    sessions: list[dict]  # oldest first: {"id", "time", "answered", "mean_score", "scores"}
    weak_topics: list[str]
    never_drilled: list[str]
    unanswered: list[dict]  # {"question", "time"}: what the notes could not answer (the history)
    missed_points: list[dict]  # {"point", "cite", "how": missed | contradicted, "session"}
    concepts: int  # concepts in the notes, drilled or not
    drilled: int  # of those, the ones with a Leitner card
    today: str  # the UTC day "due" was reckoned for

    def to_json(self) -> dict:
        return asdict(self)

    def study_next(self) -> dict[str, list[str]]:
        """What to study next, as titled lists of lines: one wording for the terminal and the browser."""
        return {
            "Cards due today": [f"{d['term']} (box {d['box']})" for d in self.due_today],
            "Weak topics": self.weak_topics,
            "Never drilled": self.never_drilled,
            "Your notes could not answer": [u["question"] for u in self.unanswered],
            "Missed or contradicted in recent sessions": [f"{m['point']} — {m['cite']}" for m in self.missed_points],
        }


def session_time(session_id: str, path: Path) -> datetime:
    """When a session started: its id begins with the time (20260101-093000-ab12), else the file's."""
    try:
        return datetime.strptime(session_id[:15], "%Y%m%d-%H%M%S")
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime)


def read_sessions(folder: Path) -> list[dict]:
    """The saved sessions, oldest first; a damaged file is left out, as it costs no other session."""
    found = []
    for path in (folder / "sessions").glob("*.json"):
        try:
            data = json.loads(path.read_text())
            found.append({**data, "time": session_time(data["id"], path)})
        except (ValueError, KeyError, OSError):
            continue
    return sorted(found, key=lambda s: s["time"])


def graded_turns(session: dict) -> list[dict]:
    return [t for t in session.get("turns", []) if t.get("feedback")]


def asked_turns(session: dict) -> list[dict]:
    """The graded answers to the session's own questions: a follow-up grades one point, not the topic, and
    counts towards neither the session's mean nor its topics (as the session's summary counts)."""
    return [t for t in graded_turns(session) if not t["question"].get("follow_up")]


def session_line(session: dict) -> dict:
    scores = [t["feedback"]["score"] for t in asked_turns(session)]
    return {
        "id": session["id"],
        "time": session["time"].isoformat(timespec="seconds"),
        "answered": len(scores),
        "mean_score": round(sum(scores) / len(scores), 1) if scores else None,
        "scores": scores,
    }


def missed_points(sessions: list[dict]) -> list[dict]:
    """Points the recent sessions' answers contradicted (first) or missed, each once, the latest first; a
    point answered right since (its follow-up, or its concept asked again) is no longer listed."""
    points: dict[str, dict] = {}
    for session in sessions[-RECENT_SESSIONS:]:
        for turn in graded_turns(session):
            feedback = turn["feedback"]
            for p in feedback.get("covered", []):
                points.pop(p["text"], None)
            for how in ("contradicted", "missed"):
                for p in feedback.get(how, []):
                    points.pop(p["text"], None)  # listed where it was last missed
                    points[p["text"]] = {"point": p["text"], "cite": p["cite"], "how": how, "session": session["id"]}
    latest = list(reversed(points.values()))
    return sorted(latest, key=lambda m: m["how"] != "contradicted")[:LISTED]


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def topic_table(sessions: list[dict], cards: dict[str, dict], today: date, pass_score: float) -> list[TopicProgress]:
    scores: dict[str, list[float]] = {}
    for session in sessions:
        for t in asked_turns(session):
            scores.setdefault(topic_group(t["question"]["topic"]), []).append(t["feedback"]["score"])
    boxes: dict[str, list[dict]] = {}
    for card in cards.values():
        boxes.setdefault(topic_group(card.get("topic", "")), []).append(card)
    rows = []
    for topic in sorted(set(scores) | set(boxes)):
        recent = scores.get(topic, [])[-RECENT_ANSWERS:]
        held = boxes.get(topic, [])
        mean_score, mean_box = _mean(recent), _mean([c["box"] for c in held])
        parts = [mean_score / 10] if mean_score is not None else []
        parts += [(mean_box - 1) / (TOP_BOX - 1)] if mean_box is not None else []
        rows.append(
            TopicProgress(
                topic=topic,
                mastery=round(sum(parts) / len(parts), 2) if parts else 0.0,
                answers=len(scores.get(topic, [])),
                mean_score=mean_score,
                cards=len(held),
                mean_box=mean_box,
                due=sum(1 for c in held if due_date(c) <= today),
                weak=(mean_score is not None and mean_score < pass_score) or any(c["box"] == 1 for c in held),
            )
        )
    return sorted(rows, key=lambda r: (r.mastery, r.topic))


def unanswered(assistant: Assistant) -> list[dict]:
    """The latest questions the notes could not answer (the history's abstentions), each once."""
    asked: dict[str, dict] = {}
    for e in assistant.history(limit=10 * LISTED, abstained=True):
        asked.setdefault(e.question.strip().lower(), {"question": e.question, "time": e.time})
    return list(asked.values())[:LISTED]


def progress_of(assistant: Assistant) -> Progress:
    today = datetime.now(timezone.utc).date()
    folder = InterviewSession.folder(assistant)
    sessions = read_sessions(folder)
    cards = InterviewSession.boxes_for(assistant).cards()
    topics = topic_table(sessions, cards, today, assistant.settings.interview_pass_score)
    concepts = concepts_from_chunks(assistant.index.chunks)
    seen = {t.topic for t in topics}
    never = list(dict.fromkeys(topic_group(c.topic) for c in concepts if topic_group(c.topic) not in seen))
    due = [
        {
            "term": c.get("term", key),
            "topic": c.get("topic", ""),
            "box": c["box"],
            "last_answer": c["seen"],
            "due": due_date(c).isoformat(),
        }
        for key, c in cards.items()
        if due_date(c) <= today
    ]
    return Progress(
        topics=topics,
        due_today=sorted(due, key=lambda d: (d["box"], d["due"])),
        sessions=[session_line(s) for s in sessions],
        weak_topics=[t.topic for t in topics if t.weak],
        never_drilled=never[:LISTED],
        unanswered=unanswered(assistant),
        missed_points=missed_points(sessions),
        concepts=len(concepts),
        drilled=sum(1 for c in concepts if c.key in cards),
        today=today.isoformat(),
    )
