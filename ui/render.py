"""HTML for what the UI shows from the notes. Every piece of note text goes through `html.escape`, or
through `note_html` (Markdown and formulas, sanitised): a note is data, and a `<script>` or an
`onerror` image in it must show as text, never run."""

from __future__ import annotations

import re
from html import escape

from rag import LEGEND, Hit, Source, SourceGroup, group_sources, location, mark, note_url
from ui.note_html import inline_html, note_html, plain_scripts, tex_delimiters

# Gradio's bundled Source Sans Pro and IBM Plex Mono "SemiBold" files hold a few dozen glyphs, and no face
# is declared for 700: semi-bold and bold text (headings, **bold** in notes) fell back to another, wider
# font and looked larger than its paragraph. Both weights get the complete Bold file.
FONTS = "".join(
    f'@font-face {{ font-family: "{family}"; src: url("static/fonts/{folder}/{folder}-Bold.woff2") '
    f'format("woff2"); font-weight: {weight}; font-style: normal; }}\n'
    for family, folder in (("Source Sans Pro", "SourceSansPro"), ("IBM Plex Mono", "IBMPlexMono"))
    for weight in (600, 700)
)
CSS = (
    FONTS
    + """
.excerpt.evidence { background: #fff8c5; border-left: 3px solid #d4a72c; padding-left: 6px; }
.card { border: 1px solid #d0d7de; border-radius: 8px; padding: 8px 12px; margin: 6px 0; }
.card .where { font-weight: 600; } .card .score { color: #57606a; font-size: 0.85em; }
.card pre { white-space: pre-wrap; font-size: 0.85em; max-height: 24em; overflow: auto; }
.card .passage { display: flex; gap: 0.5em; flex-wrap: wrap; margin-top: 4px; } .card .passage .mark { color: #57606a; }
.card .passage .excerpt { flex: 1; min-width: 0; } /* shrinks to the card: a wide formula scrolls */
.card .passage details { flex-basis: 100%; }
/* what the answer cites stands out; what was only retrieved is grey (6.1:1 on its background, WCAG AA),
   its card dashed, its sections folded under a label of their own */
.source-card.cited { border-left: 4px solid #0969da; }
.source-card.uncited { border-style: dashed; background: #f9fafb; }
.source-card.uncited, .card .passage.uncited, .uncited-sources > summary { color: #57606a; }
/* Gradio's prose colour wins over an inherited one: the excerpts say it themselves */
.source-card.uncited .md, .card .passage.uncited .md, .source-card.uncited .where a { color: #57606a !important; }
.source-card.uncited .where { font-weight: 400; }
.uncited-sources > summary { cursor: pointer; margin: 8px 0 4px; }
.card .md p { margin: 0.2em 0; } .card .md.whole { font-size: 0.9em; max-height: 24em; overflow: auto; }
.legend { color: #57606a; font-size: 0.85em; margin-left: 0.5em; }
.covered { color: #1a7f37; } .missed { color: #cf222e; } .further { color: #57606a; }
.feedback .fb-notice { color: #7d4e00; font-size: 0.9em; margin: 4px 0; }
#lib-result:has(.progress-level), #ev-result:has(.progress-level) { min-height: 4em; } /* else the bar is clipped */
.card .md div.math { max-width: 100%; overflow-x: auto; overflow-y: hidden; }
.card .md span.math { display: inline-block; max-width: 100%; overflow-x: auto; vertical-align: middle; }
#chat .katex-display { overflow-x: auto; overflow-y: hidden; max-width: 100%; }
.note-view .md { max-height: 32em; overflow: auto; }
.note-view .here { background: #fff8c5; border-left: 3px solid #d4a72c; padding-left: 6px; }
"""
)

# the chat's formulas as models write them: $$…$$ and \[…\] displayed, $…$ and \(…\) inline (KaTeX)
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "$", "right": "$", "display": False},
    {"left": "\\(", "right": "\\)", "display": False},
]


def note_link(path: str, source: str, line: int, end: int = 0) -> str:
    """`file.md:line`, linked to the note: in Obsidian when the notes folder is a vault; otherwise a
    `file://` link, which browsers do not follow from a web page, so a click opens the note in the app
    (`OPEN_NOTE_JS`, from the data attributes)."""
    label = escape(f"{source}:{line}" if line else source)
    if not path:
        return label
    return (
        f'<a class="note-link" href="{escape(note_url(path, source))}" title="{escape(location(path, line))}" '
        f'data-note="{escape(source)}" data-line="{line}" data-end="{end or line}">{label}</a>'
    )


def excerpt_of(s: Source) -> str:
    """The excerpt, a $$…$$ formula that its end cuts off completed from the text it was taken from: a
    cut formula cannot be drawn, and raw LaTeX is no excerpt."""
    if s.excerpt.count("$$") % 2 == 0:
        return s.excerpt
    cut = s.excerpt.removesuffix("…")
    for whole in (" ".join(" ".join(s.evidence).split()), " ".join(s.text.split())):
        end = whole.find("$$", len(cut)) if whole.startswith(cut) else -1
        if end != -1:
            return whole[: end + 2] + ("…" if end + 2 < len(whole) else "")
    return s.excerpt  # drawn up to the formula, then "…"


def _source_card(g: SourceGroup) -> str:
    """A section's card; `cited` when the answer cites one of its passages, else `uncited`. Only cited
    passages keep their evidence highlighted: the notice says the highlighted sentences are what the
    answer was drawn from, and an uncited passage's were not."""
    passages = "".join(
        f'<div class="passage{"" if s.cited else " uncited"}" data-chunk="{escape(s.chunk_id)}">'
        f'<span class="mark">{escape(mark(s))}</span>'
        f'<div class="md excerpt{" evidence" if s.cited and s.evidence else ""}">{inline_html(excerpt_of(s))}</div>'
        f'<details><summary>whole passage</summary><div class="md whole">{note_html(s.text)}</div></details></div>'
        for s in g.members
    )
    return (
        f'<div class="card source-card {"cited" if g.cited else "uncited"}"><div class="where">{escape(g.marks)} '
        f"{note_link(g.path, g.source, g.line_start, max(s.line_end for s in g.members))} &gt; "
        f"{inline_html(g.heading)}</div>{passages}</div>"
    )


def source_cards(sources: list[Source]) -> str:
    """One card per section, listing the numbers of its passages, each passage's excerpt under it: the
    sections the answer cites first, then those only retrieved, muted and folded under a label of their own
    so they are not read as the answer's evidence. With nothing cited (an abstention: "the closest passages
    are below") the fold starts open, or there would be nothing to see."""
    if not sources:
        return ""
    groups = group_sources(sources)
    cited = "".join(_source_card(g) for g in groups if g.cited)
    others = [_source_card(g) for g in groups if not g.cited]
    fold = ""
    if others:
        label = f"Retrieved, not cited: {len(others)} section{'s' * (len(others) != 1)}"
        fold = (
            f'<details class="uncited-sources"{"" if cited else " open"}><summary>{label}</summary>'
            f"{''.join(others)}</details>"
        )
    return f'<div><b>Sources</b> <span class="legend">{escape(LEGEND)}</span>{cited}{fold}</div>'


def hit_cards(hits: list[Hit]) -> str:
    if not hits:
        return "<p>Nothing in the notes matches.</p>"
    return "".join(
        f'<div class="card hit-card"><div class="where">{h.rank}. '
        f"{note_link(h.path, h.source, h.chunk.line_start, h.chunk.line_end)} &gt; {inline_html(h.heading)}</div>"
        f'<div class="score">score {h.score:.4f} · dense rank {h.dense_rank or "–"} · BM25 rank '
        f"{h.bm25_rank or '–'} · lines {h.chunk.line_start}-{h.chunk.line_end}</div>"
        f'<div class="md">{note_html(h.text)}</div></div>'
        for h in hits
    )


# a display formula's citations (and the punctuation after them) go inside it, or they fall onto a line
# of their own under it
CITED_FORMULA = re.compile(r"\$\$(.+?)\$\$((?:\s*\[\d+\])*)([.,;:]?)", re.DOTALL)


def chat_text(text: str) -> str:
    """An answer as the chat bubble shows it (Gradio renders the Markdown and KaTeX the formulas)."""

    def inside(m: re.Match) -> str:
        after = " ".join(re.findall(r"\[\d+\]", m.group(2))) + m.group(3)
        return f"$${m.group(1)} \\quad \\text{{{after}}}$$" if after else m.group()

    return plain_scripts(CITED_FORMULA.sub(inside, tex_delimiters(text)))


def note_view(note, line: int, end: int, path: str) -> str:
    """A note in the app (`Assistant.read_note`), the passage's lines highlighted, with where it is on disk."""
    where = f"lines {line}–{end}" if end > line else f"line {line}"
    obsidian = note_url(path, note.source) if path else ""
    link = f' · <a href="{escape(obsidian)}">open in Obsidian</a>' if obsidian.startswith("obsidian:") else ""
    return (
        f'<div class="card note-view"><div class="where">{escape(note.source)} · {where} · '
        f"<code>{escape(location(path, line))}</code>{link}</div>"
        f'<div class="md">{note_html(note.text, (line, end) if line else None)}</div></div>'
    )


def _said(point) -> str:
    """The candidate's own sentence a contradicted point answers, when the grader found it."""
    return f"you said “{escape(point.said)}”; " if point.said else ""


VERDICTS = {"dont_know": "don't know", "off_topic": "off topic", "empty": "no answer"}


def feedback_card(fb, title: str = "", answer: str | None = None, mark: str | None = None) -> str:
    """A graded answer: `title` (HTML, its text escaped by the caller) says what it answers ("Q2: What is
    dropout?"), so a card read under the next question is never taken for that one's."""
    verdict = "" if fb.verdict == "graded" else f" ({escape(VERDICTS.get(fb.verdict, fb.verdict))})"
    marked = f" · you marked it {escape(mark.capitalize())}" if mark else ""
    head = f'<div class="where fb-question">{title}</div>' if title else ""
    said = (
        f'<div class="fb-answer"><b>Your answer:</b> {escape(answer.strip() or "(empty)")}</div>'
        if answer is not None
        else ""
    )
    # the notes' own words with their formulas rendered, as in the source cards; the candidate's as typed
    points = "".join(f'<li class="covered">✓ {inline_html(k.text)} <i>— {escape(k.cite)}</i></li>' for k in fb.covered)
    points += "".join(
        f'<li class="missed contradicted">✗ <b>contradicted:</b> {_said(k)}your notes say {inline_html(k.text)} '
        f"<i>— {escape(k.cite)}</i></li>"
        for k in fb.contradicted
    )
    points += "".join(f'<li class="missed">✗ {inline_html(k.text)} <i>— {escape(k.cite)}</i></li>' for k in fb.missed)
    points += "".join(
        f'<li class="further">· also in your notes: {inline_html(k.text)} <i>— {escape(k.cite)}</i></li>'
        for k in fb.further
    )
    notices = "".join(f'<div class="fb-notice">{escape(n)}</div>' for n in fb.notices)
    return (
        f'<div class="card feedback">{head}{said}'
        f'<div class="where score-line">Score {fb.score}/10{verdict}{marked}</div><ul>{points}</ul>'
        f"{notices}<div><b>Model answer</b> (from your notes): {inline_html(fb.model_answer)}</div>"
        f"{source_cards(fb.sources)}</div>"
    )
