"""The chat's history panel and the Progress tab: what was asked, and what practice has achieved."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import gradio as gr

from rag import RagError, plot_progress
from ui.note_html import inline_html

if TYPE_CHECKING:
    from rag import Assistant, Progress

HISTORY_HEADERS = ["when", "question", "answered", "answer", "cited"]
TOPIC_HEADERS = ["topic", "mastery", "mean score", "answers", "cards", "due today", "weak"]
# the study lists made of the notes' words (terms, headings, points), whose formulas are drawn as the
# feedback cards draw them; any other list (the questions the user typed) stays escaped text
FROM_NOTES = {"Cards due today", "Weak topics", "Never drilled", "Missed or contradicted in recent sessions"}


def history_rows(assistant: Assistant, search: str) -> list[list]:
    rows = []
    for e in assistant.history(search.strip() or None, limit=50):
        cited = [s for s in e.sources if s["cited"]] or e.sources[:1]
        answer = e.answer if len(e.answer) <= 240 else e.answer[:240] + "…"
        where = "; ".join(f"{s['source']} > {s['heading'].split(' > ')[-1]}" for s in cited)
        rows.append([e.time.replace("T", " ")[:16], e.question, e.made, answer, where])
    return rows


def history_panel(assistant: Assistant) -> tuple:
    """Inside the chat tab: the questions asked here and elsewhere (CLI, MCP, API), searchable. Returns
    the (handler, inputs, outputs) that refresh it, for the chat to run after each answer."""
    with gr.Accordion("History: questions asked before", open=False, elem_id="history") as panel:
        with gr.Row():
            search = gr.Textbox(label="search the questions and answers", scale=5, elem_id="history-search")
            refresh = gr.Button("Search / refresh", size="sm", scale=1, elem_id="history-refresh")
        table = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, wrap=True, elem_id="history-table")
    show = (lambda text: history_rows(assistant, text or ""), [search], table)
    panel.expand(*show)
    search.submit(*show)
    refresh.click(*show)
    return show


def study_html(p: Progress) -> str:
    answered = sum(s["answered"] for s in p.sessions)
    parts = [
        f"<p>{len(p.sessions)} sessions, {answered} answers; {p.drilled} of {p.concepts} concepts drilled; "
        f"{len(p.due_today)} cards due today.</p>",
        "<h3>Study next</h3>",
    ]
    for title, items in p.study_next().items():
        shown = inline_html if title in FROM_NOTES else escape
        body = "".join(f"<li>{shown(item)}</li>" for item in items) or "<li><em>nothing</em></li>"
        parts.append(f"<h4>{escape(title)}</h4><ul>{body}</ul>")
    return "".join(parts)


def load_progress(assistant: Assistant):
    """(summary and study list, topic rows, figure)."""
    try:
        p = assistant.progress()
    except RagError as e:
        return f"<p>{escape(str(e))}</p>", [], None
    rows = [[t.topic, t.mastery, t.mean_score, t.answers, t.cards, t.due, "yes" if t.weak else ""] for t in p.topics]
    return study_html(p), rows, plot_progress(p)


def progress_tab(assistant: Assistant) -> None:
    with gr.Tab("Progress") as tab:
        refresh = gr.Button("Refresh", size="sm", elem_id="progress-refresh")
        plot = gr.Plot(label="scores over time", elem_id="progress-plot")
        topics = gr.Dataframe(headers=TOPIC_HEADERS, label="per topic, weakest first", interactive=False)
        study = gr.HTML(elem_id="progress-study")
    show = (lambda: load_progress(assistant), None, [study, topics, plot])
    tab.select(*show)
    refresh.click(*show)
