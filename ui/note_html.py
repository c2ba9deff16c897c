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
from markdown_it.token import Token
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
# what plain_scripts leaves alone: code, and formulas (their ^ is LaTeX's)
VERBATIM = re.compile(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)
SCRIPT = re.compile(r"(?<=\w)\^([*\d])(?!\w)")
SUPERSCRIPTS = str.maketrans("*0123456789", "*⁰¹²³⁴⁵⁶⁷⁸⁹")
HEADING_MARKS = re.compile(r"(^|\s)#{1,6}\s+")
DANGLING_FORMULA = re.compile(r"\$\$(?:(?!\$\$).)*$", re.DOTALL)


def tex_delimiters(text: str) -> str:
    return INLINE_MATH.sub(
        lambda m: f"${m.group(1).strip()}$", DISPLAY_MATH.sub(lambda m: f"$${m.group(1).strip()}$$", text)
    )


def plain_scripts(text: str) -> str:
    """The scripts notes write in plain text, outside formulas and code ("π^*", "R^2"), as Unicode: π*, R²."""
    unicode = lambda part: SCRIPT.sub(lambda m: m.group(1).translate(SUPERSCRIPTS), part)
    out, at = [], 0
    for m in VERBATIM.finditer(text):
        out += [unicode(text[at : m.start()]), m.group()]
        at = m.end()
    return "".join(out) + unicode(text[at:])


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=HTML | MATHML,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )


def note_html(text: str, mark: tuple[int, int] | None = None) -> str:
    """Note text as sanitised HTML. With `mark` (first and last line, 1-based) the blocks on those lines
    are wrapped in `<div class="here">`: the passage a source card points to, in its note."""
    md = _markdown()
    tokens = md.parse(plain_scripts(tex_delimiters(text)))
    if mark:
        _wrap(tokens, mark)
    return _clean(md.renderer.render(tokens, md.options, {}))


def _blocks(tokens: list[Token]):
    """(first token, last token, source lines) of each top-level block; lines are 0-based, end exclusive."""
    start = 0
    for i, t in enumerate(tokens):
        if t.level == 0 and t.nesting == 1:
            start = i
        elif t.level == 0:
            first = start if t.nesting == -1 else i
            yield first, i, tokens[first].map


def _wrap(tokens: list[Token], mark: tuple[int, int]) -> None:
    # a block's lines [l0, l1) meet the mark's [m0 - 1, m1) when l0 < m1 and l1 > m0 - 1
    inside = [(a, b) for a, b, lines in _blocks(tokens) if lines and lines[0] < mark[1] and lines[1] >= mark[0]]
    if inside:
        first, last = inside[0][0], inside[-1][1]
        tokens.insert(last + 1, Token("html_block", "", 0, content="</div>\n"))
        tokens.insert(first, Token("html_block", "", 0, content='<div class="here">\n'))


def inline_html(text: str) -> str:
    """One line of note text, as excerpts and heading paths are (their line breaks are gone): Markdown's
    inline syntax and formulas only, so "## Dropout - a - b" cannot become one huge heading. Heading
    marks are dropped, and a formula cut off by the excerpt's end shows as "…", not as raw LaTeX."""
    text = tex_delimiters(text)
    if text.count("$$") % 2:
        text = DANGLING_FORMULA.sub("…", text)
    return _clean(_markdown().renderInline(plain_scripts(HEADING_MARKS.sub(r"\1", text))))
