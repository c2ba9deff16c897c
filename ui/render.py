"""HTML for what the UI shows from the notes. Every piece of note text goes through `html.escape`:
a note is data, and a `<script>` or an `onerror` image in it must show as text, never run."""

from __future__ import annotations

from html import escape

from rag.types import Hit, Source

CSS = """
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 12px; margin: 6px 0; }
.card .where { font-weight: 600; } .card .score { color: #57606a; font-size: 0.85em; }
.card pre { white-space: pre-wrap; font-size: 0.85em; max-height: 24em; overflow: auto; }
.covered { color: #1a7f37; } .missed { color: #cf222e; }
"""


def source_cards(sources: list[Source]) -> str:
    if not sources:
        return ""
    cards = []
    for s in sources:
        mark = f"[{s.n}]" if s.cited else f"({s.n})"
        cards.append(
            f'<div class="card source-card" data-chunk="{escape(s.chunk_id)}">'
            f'<div class="where">{escape(mark)} {escape(s.source)} &gt; {escape(s.heading)}</div>'
            f"<div>{escape(s.excerpt)}</div>"
            f"<details><summary>whole passage</summary><pre>{escape(s.text)}</pre></details></div>"
        )
    return "<div><b>Sources</b>" + "".join(cards) + "</div>"


def hit_cards(hits: list[Hit]) -> str:
    if not hits:
        return "<p>Nothing in the notes matches.</p>"
    return "".join(
        f'<div class="card hit-card"><div class="where">{h.rank}. {escape(h.source)} &gt; {escape(h.heading)}</div>'
        f'<div class="score">score {h.score:.4f} · dense rank {h.dense_rank or "–"} · BM25 rank {h.bm25_rank or "–"} · lines {h.chunk.line_start}-{h.chunk.line_end}</div>'
        f"<pre>{escape(h.text)}</pre></div>"
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
