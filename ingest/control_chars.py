"""Control characters in note text carry no meaning for notes, and printed raw they drive the reader's
terminal (colours, a window title, a cleared screen, a hyperlink). They are taken out at ingest and
again wherever note text is printed, which also covers an index built before this existed."""

from __future__ import annotations

import re

# Whole escape sequences go, not only the ESC byte, or "[31m" and "]0;title" would stay in the text:
# CSI (ESC [ ... final byte), OSC / DCS / APC / PM / SOS strings (ended by BEL or ESC \, or for an
# unterminated one the end of its line: taking the rest of the note with it would lose text and move lines),
# two-byte escapes.
ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# every other C0 and C1 control but tab and newline (line numbers must not move), and DEL
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def strip_control(text: str) -> str:
    if not CONTROL.search(text):
        return text
    return CONTROL.sub("", ESCAPE_SEQUENCE.sub("", text))
