"""German notes graded against English answers (issue #21, company mode): a word-for-word English gloss.

The embedding model and the heads read English only, so "KI als strategischer Wachstumsmarkt" and "AI as a
strategic growth market" are strangers to them. No translation model ships as a package; a glossary of
common German words (`gloss_de.tsv`, one "german<TAB>english" a line) turns a German sentence into
English words in German order, which is what an embedding of the sentence's content needs. Inflected forms
are found by cutting common endings; compounds ("Wachstumsmarkt", "Unternehmensdaten") by splitting them
into two glossed words. A word the glossary does not know stays as it is: names and the English terms such
notes mix in ("Machine Learning Researcher", "PyTorch") are already what an English answer says.

It is a glossary, not a translator: it covers the vocabulary of notes about work, study and ML, not German.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

GLOSSARY = Path(__file__).with_name("gloss_de.tsv")
# words only German uses often: a text with enough of them (or an umlaut or ß) is German
MARKERS = set(
    "der die das den dem des und ist sind nicht ich mit als für ein eine einen einer sich auf wie im zum zur von bei "
    "auch oder wird werden kann nur noch habe".split()
)
GERMAN_SHARE = 0.08
ENDINGS = ("en", "er", "es", "em", "e", "n", "s")
WORD = re.compile(r"[A-Za-zÄÖÜäöüß]+")


@functools.cache
def glossary() -> dict[str, str]:
    pairs = (line.split("\t") for line in GLOSSARY.read_text(encoding="utf-8").splitlines() if "\t" in line)
    return {german.strip().lower(): english.strip() for german, english in pairs}


def is_german(text: str) -> bool:
    words = [w.lower() for w in WORD.findall(text)]
    if not words:
        return False
    return bool(re.search(r"[äöüß]", text.lower())) or sum(w in MARKERS for w in words) / len(words) >= GERMAN_SHARE


def english_word(word: str) -> str | None:
    """The gloss of one German word, its inflected forms and two-part compounds included; None if unknown."""
    known = glossary()
    lower = word.lower()
    for stem in (lower, *(lower[: -len(e)] for e in ENDINGS if lower.endswith(e) and len(lower) - len(e) >= 3)):
        if stem in known:
            return known[stem]
    for cut in range(len(lower) - 3, 2, -1):  # the longest known head first: "wachstums|markt"
        head, tail = lower[:cut], lower[cut:]
        head = head[:-1] if head.endswith("s") and head[:-1] in known else head  # the linking s
        if head in known and (rest := english_word(tail)) is not None:
            return f"{known[head]} {rest}"
    return None


def english(text: str, german: bool | None = None) -> str:
    """`text` in English words where it is German (`german`, or found by `is_german`); English as it is. A
    section's short lines ("Skalierbare KI") show no German of their own: the caller says for them."""
    if not (is_german(text) if german is None else german):
        return text
    return WORD.sub(lambda m: word if (word := english_word(m.group(0))) is not None else m.group(0), text)
