"""HTML for what the UI shows from the notes. Every piece of note text goes through `html.escape`, or
through `note_html` (Markdown and formulas, sanitised): a note is data, and a `<script>` or an
`onerror` image in it must show as text, never run."""

from __future__ import annotations

from html import escape

from rag import LEGEND, Hit, Source, group_sources, location, mark, note_url
from ui.note_html import note_html

CSS = """
.excerpt.evidence { background: #fff8c5; border-left: 3px solid #d4a72c; padding-left: 6px; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 12px; margin: 6px 0; }
.card .where { font-weight: 600; } .card .score { color: #57606a; font-size: 0.85em; }
.card pre { white-space: pre-wrap; font-size: 0.85em; max-height: 24em; overflow: auto; }
.card .passage { display: flex; gap: 0.5em; flex-wrap: wrap; margin-top: 4px; } .card .passage .mark { color: #57606a; }
.card .passage .excerpt { flex: 1; } .card .passage details { flex-basis: 100%; }
.card .md p { margin: 0.2em 0; } .card .md.whole { font-size: 0.9em; max-height: 24em; overflow: auto; }
.legend { color: #57606a; font-size: 0.85em; margin-left: 0.5em; }
.covered { color: #1a7f37; } .missed { color: #cf222e; }
"""

# the chat's formulas as models write them: $$…$$ and \[…\] displayed, $…$ and \(…\) inline (KaTeX)
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "$", "right": "$", "display": False},
    {"left": "\\(", "right": "\\)", "display": False},
]


def note_link(path: str, source: str, line: int) -> str:
    """`file.md:line`, linked to open the note: in Obsidian when the notes folder is a vault."""
    label = escape(f"{source}:{line}" if line else source)
    if not path:
        return label
    return (
        f'<a class="note-link" href="{escape(note_url(path, source))}" '
        f'title="{escape(location(path, line))}">{label}</a>'
    )


def source_cards(sources: list[Source]) -> str:
    """One card per section, listing the numbers of its passages, each passage's excerpt under it."""
    if not sources:
        return ""
    cards = []
    for g in group_sources(sources):
        passages = "".join(
            f'<div class="passage" data-chunk="{escape(s.chunk_id)}"><span class="mark">{escape(mark(s))}</span>'
            f'<div class="md excerpt{" evidence" if s.evidence else ""}">{note_html(s.excerpt)}</div>'
            f'<details><summary>whole passage</summary><div class="md whole">{note_html(s.text)}</div></details></div>'
            for s in g.members
        )
        cards.append(
            f'<div class="card source-card"><div class="where">{escape(g.marks)} '
            f"{note_link(g.path, g.source, g.line_start)} &gt; {escape(g.heading)}</div>{passages}</div>"
        )
    return f'<div><b>Sources</b> <span class="legend">{escape(LEGEND)}</span>' + "".join(cards) + "</div>"


def hit_cards(hits: list[Hit]) -> str:
    if not hits:
        return "<p>Nothing in the notes matches.</p>"
    return "".join(
        f'<div class="card hit-card"><div class="where">{h.rank}. '
        f"{note_link(h.path, h.source, h.chunk.line_start)} &gt; {escape(h.heading)}</div>"
        f'<div class="score">score {h.score:.4f} · dense rank {h.dense_rank or "–"} · BM25 rank '
        f"{h.bm25_rank or '–'} · lines {h.chunk.line_start}-{h.chunk.line_end}</div>"
        f'<div class="md">{note_html(h.text)}</div></div>'
        for h in hits
    )


def feedback_card(fb) -> str:
    verdict = "" if fb.verdict == "graded" else f" ({escape(fb.verdict.replace('_', ' '))})"
    points = "".join(f'<li class="covered">✓ {escape(k.text)} <i>— {escape(k.cite)}</i></li>' for k in fb.covered)
    points += "".join(f'<li class="missed">✗ {escape(k.text)} <i>— {escape(k.cite)}</i></li>' for k in fb.missed)
    return (
        f'<div class="card feedback"><div class="where score-line">Score {fb.score}/10{verdict}</div><ul>{points}</ul>'
        f"<div><b>Model answer</b> (from your notes): {escape(fb.model_answer)}</div>{source_cards(fb.sources)}</div>"
    )
