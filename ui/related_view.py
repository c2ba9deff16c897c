"""HTML for the related-notes panel beside the chat's source cards. Note names and link targets are
the user's text: every one goes through `html.escape`."""

from __future__ import annotations

from html import escape

from rag import Related


def related_card(found: Related) -> str:
    """One card: the note, then each related note with why ("links to", "close in meaning: 0.71, …")."""
    items = "".join(
        f'<li><span class="where">{escape(r.source)}</span> <span class="score">{escape(r.reason)}</span></li>'
        for r in found.related
    )
    missing = (
        f'<p class="score">links to no note here: {escape(", ".join(found.unresolved))}</p>' if found.unresolved else ""
    )
    body = f"<ul>{items}</ul>" if items else '<p class="score">no other note to relate it to</p>'
    return f'<div class="card related"><div class="where">Related to {escape(found.note)}</div>{body}{missing}</div>'
