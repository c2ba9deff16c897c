"""Note text as the browser shows it: Markdown rendered (markdown-it-py), `$…$` and `$$…$$` formulas
as MathML (latex2mathml; Chromium and Firefox draw it natively), and the result cleaned by an
allow-list sanitiser (nh3, Ammonia) — a note is data: raw HTML in it shows as text, and nothing from it
can run script, load an image or carry a link that is not http(s)."""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

import nh3
from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

MATHML = {
    "math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "mfrac", "msqrt", "mroot", "msub", "msup",
    "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom",
    "menclose", "semantics", "annotation",
}  # fmt: skip
HTML = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "a", "span", "div", "table", "thead", "tbody", "tr", "th", "td", "del", "s",
}  # fmt: skip
ATTRIBUTES = {
    "span": {"class"}, "div": {"class"}, "a": {"href"}, "ol": {"start"}, "th": {"style"}, "td": {"style"},
    "math": {"display"}, "mi": {"mathvariant"}, "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "form"},
    "mover": {"accent"}, "munder": {"accentunder"}, "mspace": {"width"}, "mtable": {"columnalign"},
    "mtd": {"columnalign"}, "mstyle": {"displaystyle", "scriptlevel"}, "menclose": {"notation"},
}  # fmt: skip


def _formula(latex: str, options: dict) -> str:
    """MathML for the plugin to wrap in its `math inline` span (or `math block` div)."""
    try:
        return convert(latex, display="block" if options.get("display_mode") else "inline")
    except Exception:  # latex2mathml raises many kinds on LaTeX it cannot read: show the source
        return f"<code>{escape(latex)}</code>"


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    # html off: tags in a note are text. Images off: a note must not make the page fetch anything.
    # breaks: plain-text notes keep their line breaks. "$5 and $10" stays money (no digits after a
    # closing $, no space inside the dollars).
    md = (
        MarkdownIt("commonmark", {"html": False, "breaks": True})
        .enable("table")
        .enable("strikethrough")
        .disable("image")
    )
    return md.use(dollarmath_plugin, allow_space=False, allow_digits=False, double_inline=True, renderer=_formula)


# \[…\] and \(…\), as the notes also write formulas: Markdown would take "\[" for an escaped "[" and lose
# the backslash, so they become the $$…$$ and $…$ the formula plugin reads
DISPLAY_MATH = re.compile(r"\\\[(.+?)\\\]", re.DOTALL)
INLINE_MATH = re.compile(r"\\\((.+?)\\\)", re.DOTALL)


def note_html(text: str) -> str:
    text = INLINE_MATH.sub(
        lambda m: f"${m.group(1).strip()}$", DISPLAY_MATH.sub(lambda m: f"$${m.group(1).strip()}$$", text)
    )
    html = _markdown().render(text)
    return nh3.clean(
        html,
        tags=HTML | MATHML,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )
