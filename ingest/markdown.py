"""Obsidian/Pandoc Markdown to clean text, line for line.

Every transformation keeps the line count, so a chunk's line span points at the right place in the
user's file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCE = re.compile(r"^\s*(```|~~~)")
EMBED = re.compile(r"!\[\[([^\]]+)\]\]")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)[^)]*\)")
WIKILINK = re.compile(r"\[\[([^\]|]+?)(?:\|([^\]]+))?\]\]")
# Only tags HTML notes use: a bare `<` followed by a letter is common in formulas (`a<b`).
HTML_TAG = re.compile(
    r"</?(?:mark|details|summary|markdown|br|b|i|u|em|strong|span|div|sup|sub|p|font|center|small|kbd|img|a|hr"
    r"|script|style|iframe)\b[^>]*>",
    re.IGNORECASE,
)
PANDOC_DIV = re.compile(r"^\s*:::")
INLINE_TAG = re.compile(r"(?<![\w#&/\\`])#([A-Za-z][\w/-]*)")
INLINE_CODE = re.compile(r"`[^`]*`")


@dataclass
class CleanMarkdown:
    lines: list[str]
    tags: list[str] = field(default_factory=list)
    embeds: list[str] = field(default_factory=list)
    embed_lines: list[tuple[int, str]] = field(default_factory=list)  # (index into lines, target) of each


def _wikilink_text(match: re.Match) -> str:
    target, alias = match.group(1), match.group(2)
    if alias:
        return alias.strip()
    return target.replace("#", " > ").strip()


def clean_markdown(body: str) -> CleanMarkdown:
    out = CleanMarkdown(lines=[])
    in_code = False
    for line in body.split("\n"):
        if FENCE.match(line):
            in_code = not in_code
            out.lines.append(line)
            continue
        if in_code:
            out.lines.append(line)
            continue
        if PANDOC_DIV.match(line):
            out.lines.append("")
            continue
        targets = [m.strip() for m in EMBED.findall(line)] + IMAGE.findall(line)
        out.embeds.extend(targets)
        out.embed_lines.extend((len(out.lines), target) for target in targets)
        line = EMBED.sub("", line)
        line = IMAGE.sub("", line)
        line = WIKILINK.sub(_wikilink_text, line)
        line = HTML_TAG.sub("", line)
        # Heading markers never match (a space or another `#` follows them), so headings that carry
        # tags, "# Beginner's projects ( #beginner )", are read like any line.
        out.tags.extend(INLINE_TAG.findall(INLINE_CODE.sub("", line)))
        out.lines.append(line.rstrip())
    out.tags = list(dict.fromkeys(out.tags))
    out.embeds = list(dict.fromkeys(out.embeds))
    return out
