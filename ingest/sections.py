"""Split a document along its own structure: Markdown headings, numbered or upper-case section lines
and slide titles in plain text, and definition lists ("- Term: ...") inside a section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.documents import Document
from ingest.markdown import FENCE
from ingest.ocr import IMAGE_HEADING

MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
# "5.2. KERNELS", "5.1.1. Mathematical Model", "1. ARTIFICIAL NEURAL NETWORK (ANN)"
NUMBERED = re.compile(r"^(\d+(?:\.\d+)*)\.\s+(\S.*)$")
TOC_LINE = re.compile(r"\t\s*\d+\s*$")
LIST_ITEM = re.compile(r"^\s*([-*+•]|\d+[.)])\s")
DEFINITION = re.compile(r"^[-*+]\s+(?:\*\*)?([A-Za-z][^:*\n]{1,48}?)(?:\*\*)?\s*:(?:\*\*)?\s+(?:\S+\s+){4}\S")


@dataclass
class Section:
    path: list[str]  # heading path without the document title
    lines: list[str]
    start: int  # 1-based line numbers in the file, inclusive
    end: int


# Emphasis markers come in pairs around words: "**Scaling**", "_why_". A lone or inner `*` or `_` is part
# of the heading ("Optimal policy π^*", "n_estimators", "$Q(s_0, a_0)$") and stays.
EMPHASIS = re.compile(r"(?<![^\s(\[\"'])(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1(?![^\s.,:;!?)\]\"'])")
CODE_SPAN = re.compile(r"`+([^`]+?)`+")


def clean_heading(text: str) -> str:
    text = CODE_SPAN.sub(r"\1", text)
    unwrapped = None
    while unwrapped != text:  # "***both***" or "**_nested_**"
        unwrapped, text = text, EMPHASIS.sub(r"\2", text)
    text = text.strip()
    return text.rstrip(" :?").strip() or text


def sections(doc: Document) -> list[Section]:
    headings = _markdown_headings(doc.lines) if doc.kind == "markdown" else _text_headings(doc.lines)
    out: list[Section] = []
    stack: list[tuple[int, str]] = []
    starts = sorted(headings) + [len(doc.lines)]
    if not headings or starts[0] > 0:
        out.append(_section([], doc, 0, starts[0]))
    for i, line_no in enumerate(starts[:-1]):
        level, title = headings[line_no]
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        path = [t for _, t in stack]
        if _same(path[0], doc.title):
            # `title: Regularization` over `# Regularization` (or `# dropout` in dropout.md): the heading
            # is the title, which every heading is shown under already ("Regularization > Dropout")
            path = path[1:]
        out.append(_section(path, doc, line_no, starts[i + 1]))
    # A heading with nothing under it but sub-headings stays a (tiny) section of its own: chunking
    # merges it into what follows, so neither its words nor its line are lost.
    out = [s for piece in _with_images(out, doc) for s in _split_definitions(piece)]
    return [s for s in out if any(line.strip() for line in s.lines)]


def _with_images(out: list[Section], doc: Document) -> list[Section]:
    """An image's text becomes a section of its own where the image sits, under the heading it sits
    under plus its name ("Training > image: Pasted image 2024.png"): the text after the image stays
    with its heading, and a hit on the picture says which picture it was."""
    pending = sorted(doc.images, key=lambda image: image.line)
    if not pending:
        return out
    result: list[Section] = []
    for section in out:
        begin = section.start
        while pending and (at := doc.first_line + pending[0].line) <= section.end:
            image = pending.pop(0)
            result.append(Section(section.path, doc.lines[begin - doc.first_line : at - doc.first_line + 1], begin, at))
            result.append(Section([*section.path, IMAGE_HEADING + image.name], [image.text], at, at))
            begin = at + 1
        if begin <= section.end:
            result.append(
                Section(
                    section.path,
                    doc.lines[begin - doc.first_line : section.end - doc.first_line + 1],
                    begin,
                    section.end,
                )
            )
    return result


def _same(heading: str, title: str) -> bool:
    return heading.casefold().split() == title.casefold().split()


def _section(path: list[str], doc: Document, begin: int, end: int) -> Section:
    return Section(path=path, lines=doc.lines[begin:end], start=doc.first_line + begin, end=doc.first_line + end - 1)


def _markdown_headings(lines: list[str]) -> dict[int, tuple[int, str]]:
    found = {}
    in_code = False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and (m := MD_HEADING.match(line)):
            found[i] = (len(m.group(1)), clean_heading(m.group(2)))
    return found


def _is_title_like(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    before = lines[i - 1].strip() if i > 0 else ""
    after = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return (
        0 < len(line) <= 60
        and len(line.split()) <= 8
        and not before
        and not after
        and not LIST_ITEM.match(line)
        and re.search(r"[A-Za-z]{3}", line) is not None
        and line[-1] not in ".,;=)]}$"
        and not line.startswith(("$", "|", "`", "...", "http"))
    )


def _text_headings(lines: list[str]) -> dict[int, tuple[int, str]]:
    """Numbered headings nest by their depth; other title lines sit one level below the last number."""
    found = {}
    depth = 0
    for i, raw in enumerate(lines):
        line = raw.strip()
        if not line or TOC_LINE.search(raw):
            continue
        m = NUMBERED.match(line)
        if m and len(line) <= 80 and line[-1] not in ".:" and re.search(r"[A-Za-z]{2}", m.group(2)):
            level = m.group(1).count(".") + 1
            title = m.group(2)
            if level > 1 or title.upper() == title:
                depth = level
                found[i] = (level, clean_heading(title))
                continue
        if _is_title_like(lines, i) and not NUMBERED.match(line):
            found[i] = (depth + 1, clean_heading(line))
    return found


def _split_definitions(section: Section) -> list[Section]:
    """A section made of "- Term: definition" items becomes one sub-section per term, so the term is
    part of each piece's heading path ("Neural Network Terminologies > Batch Normalization")."""
    starts = [i for i, line in enumerate(section.lines) if DEFINITION.match(line)]
    if len(starts) < 2:
        return [section]
    pieces = []
    if starts[0] > 0:
        pieces.append(Section(section.path, section.lines[: starts[0]], section.start, section.start + starts[0] - 1))
    for a, b in zip(starts, starts[1:] + [len(section.lines)]):
        end = _item_end(section.lines, a, b)
        term = clean_heading(DEFINITION.match(section.lines[a]).group(1))
        pieces.append(Section(section.path + [term], section.lines[a:end], section.start + a, section.start + end - 1))
        if end < b:  # prose after the last item belongs to the section, not to that term
            pieces.append(Section(section.path, section.lines[end:b], section.start + end, section.start + b - 1))
    return pieces


def _item_end(lines: list[str], start: int, stop: int) -> int:
    """An item runs until a blank line is followed by an unindented line that is not another item."""
    for i in range(start + 1, stop):
        if (
            lines[i].strip()
            and not lines[i][0].isspace()
            and not lines[i - 1].strip()
            and not LIST_ITEM.match(lines[i])
        ):
            # indented continuation and <details> blocks stay with their item
            if not lines[i].lstrip().startswith(("<", "$$", "```")):
                return i
    return stop
