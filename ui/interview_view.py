"""What the interview tab shows of a session: each graded answer under its own question, whether the
candidate is asked to mark the last one, and the transcript as a file the browser may download."""

from __future__ import annotations

import tempfile
from html import escape
from pathlib import Path

from rag import UNSURE
from ui.note_html import inline_html
from ui.render import feedback_card


def question_html(q) -> str:
    """The question waiting for an answer. Its text and topic are the notes' words (a follow-up quotes one
    of their points), so their formulas are drawn as in the feedback cards, not left as raw LaTeX."""
    return (
        f"<h3>{escape(q.label)}. {inline_html(q.text)}</h3><p><em>{escape(q.kind)}, {escape(q.difficulty)} · "
        f"{escape(q.source)} › {inline_html(q.topic)}</em></p>"
    )


def ended(session) -> str:
    """The progress line once the session is over. It counts the session's questions as the summary does:
    a follow-up shares its question's number, so counted with them it made "7 of 5 answered"."""
    s = session.summary()
    follow_ups = sum(1 for t in session.turns if t.question.follow_up and t.feedback is not None)
    also = f", and {follow_ups} follow-up{'s' * (follow_ups != 1)}" if follow_ups else ""
    return f"Done: {s.answered} of {s.planned} answered{also}. The session has ended; *Start session* begins a new one."


def feedback_history(session) -> str:
    """Every graded answer of the session, the latest first, each card headed by its own question: shown
    under the next question, a card without its question was read as that one's feedback."""
    return "".join(
        feedback_card(t.feedback, f"{escape(t.question.label)}: {inline_html(t.question.text)}", t.answer, t.mark)
        for t in reversed(session.turns)
        if t.feedback is not None
    )


def to_mark(session) -> str:
    """The prompt for the candidate's own mark when the grader was unsure of the last answer, else ""."""
    graded = [t for t in session.turns if t.feedback is not None]
    if not graded or graded[-1].mark or not session.markable(graded[-1]):
        return ""
    low, high = UNSURE
    return (
        f"The grader is unsure about {graded[-1].question.label} (a score from {low:g} to {high:g}). How did you "
        "do? Your mark decides when the question comes back."
    )


def transcript_file(session) -> str:
    """The session as Markdown, in a temp folder of its own: Gradio hands the browser only files under
    its allowed folders (the system temp folder is one), and the cache folder where sessions are kept
    is not, nor should it be (it holds the index)."""
    folder = Path(tempfile.mkdtemp(prefix="notes-rag-interview-"))
    return str(session.export_markdown(folder / f"interview-{session.id}.md"))
