"""Training pairs for the support head (issues #24, #21): (claim, note sentence, 1 if the sentence states
what the claim says).

Claims are made from the notes' own sentences (the units of `evidence.split_units`, each read as
`reader.candidate_text` reads it, heading first):
- positives: the sentence lightly rewritten (a citation "[n]" added, a leading "It"/"This" resolved to its
  heading, Markdown dropped, a leading clause moved to the end), and paraphrase pairs: two answer quotes of
  one question, in different sentences, that share most of their content words;
- negatives, FactCC-style reversals of the sentence: `negation`, `antonym` (and comparative) swaps,
  `number` swaps, `entity` swaps (two terms of the sentence, or one for another of its section), and
  `neighbour` sentences (another of the same section; one of another section sharing words); and the
  hand-written wrong answers of eval/datasets/interview_answers.jsonl (label wrong_on_topic) against their
  section's sentences (`interview`).

The split is by note: VAL_NOTES are validation whole. interview_answers_v2.jsonl and capable_answers.jsonl
are held out and never read here.

    python -m training.support_pairs      # writes training/data/support_pairs.jsonl, prints the counts
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from collections import Counter
from pathlib import Path

from training.reader_pairs import COLLECTIONS, ROOT, Collection, label, load_questions, words

OUT = ROOT / "training" / "data" / "support_pairs.jsonl"
INTERVIEW = ROOT / "eval" / "datasets" / "interview_answers.jsonl"
SEED = 21
VAL_NOTES = {
    ("shipped", "accenture-interview-prep.md"),
    ("slides", "lec09-recommender-systems.md"),
    ("terse", "graph-ml.md"),
    ("terse", "rl-basics.md"),
}
MIN_WORDS = 6  # a shorter unit ("Multi-layer Perceptrons (MLP)") is a name, not a claim
# formulas, links, questions and contents lines are not claims a reversal makes false
NOT_A_CLAIM = re.compile(r"\$|https?://|\?|\t\d+$")
# of the sentences of a note, this share becomes claims: a few thousand pairs train in ten minutes
CLAIM_SHARE = 0.45
PARAPHRASE_OVERLAP = 0.5  # share of the longer quote's content words the other holds too

# reversals: each pair is swapped both ways, whole words, the case of the first letter kept
ANTONYMS = """higher lower|more less|increase decrease|increases decreases|increased decreased|increasing
decreasing|larger smaller|large small|faster slower|fast slow|before after|overfit underfit|overfitting
underfitting|left right|input output|inputs outputs|training test|maximize minimize|maximise minimise|
maximizes minimizes|high low|positive negative|longer shorter|above below|first last|supervised
unsupervised|linear non-linear|parametric non-parametric|better worse|easier harder|many few|always never|
reduces increases|reduce increase|improves degrades|same different|deeper shallower|sparse dense|
independent dependent|global local|upper lower|online offline|most least|all none|simple complex"""
ENTITIES = """precision recall|TP FN|FP FN|TP FP|TN FP|query key|key value|bagging boosting|SARSA Q-learning|
on-policy off-policy|L1 L2|encoder decoder|CNN RNN|LSTM GRU|mean median|classification regression|
generator discriminator|actor critic|validation training|bias variance|weights biases|rows columns|
sigmoid softmax|ReLU sigmoid|epoch iteration|agent environment|reward penalty|
dropout batch normalization|PCA t-SNE|k-means k-NN|Random Forest Gradient Boosting|Docker Kubernetes|
true positives false negatives|false positives false negatives|accuracy loss|CPU GPU|exploration exploitation"""
AUXILIARIES = re.compile(r"\b(is|are|was|were|can|does|do|will|should|has|have|must|may)\b(?! not\b)")
NEGATED = re.compile(r"\b(is|are|was|were|does|do|will|should|has|have|must|may) not\b|\bcannot\b|n't\b")
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w.]\d)")
ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,5}s?\b")
LEAD_CLAUSE = re.compile(
    r"^(If|When|Because|Although|While|Since|Unlike|By|During|After|Before|For|In|With|Without) ([^,]{8,}), (.{20,})\.$"
)
PRONOUN = re.compile(r"^(It|This) (is|are|can|helps|uses|has|was|means|makes|works|refers)\b")
STOP = set("the a an of to in and or is are be by for on as with that this it its can from at which".split())


def swap_table(text: str) -> list[tuple[str, str]]:
    """ "a b|c d" as pairs; an entry of more words is halved by words ("true positives false negatives")."""
    out = []
    for entry in text.replace("\n", " ").split("|"):
        parts = entry.split()
        out.append((" ".join(parts[: len(parts) // 2]), " ".join(parts[len(parts) // 2 :])))
    return out


ANTONYM_SWAPS = swap_table(ANTONYMS)
ENTITY_SWAPS = swap_table(ENTITIES)


def clean(unit: str) -> str:
    """Emphasis and code marks dropped (not "_": it is in names such as top_k)."""
    text = re.sub(r"\s+", " ", re.sub(r"\*\*?|`|\[\[|\]\]", "", unit)).strip()
    return re.sub(r"^[-•]\s+", "", text)


def is_claim(unit: str) -> bool:
    return len(words(unit)) >= MIN_WORDS and not NOT_A_CLAIM.search(unit)


def replace_word(text: str, old: str, new: str) -> str | None:
    """`text` with its first whole-word `old` (any case) made `new` (the first letter's case kept)."""
    m = re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", text, re.IGNORECASE)
    if not m:
        return None
    new = new[0].upper() + new[1:] if m.group()[0].isupper() else new
    return text[: m.start()] + new + text[m.end() :]


def swapped(text: str, table: list[tuple[str, str]], rng: random.Random) -> str | None:
    """One word of `table` found in `text` turned into its partner; both found: the two exchanged."""
    found = [(a, b) for a, b in table if replace_word(text, a, b)] + [
        (b, a) for a, b in table if replace_word(text, b, a)
    ]
    if not found:
        return None
    a, b = rng.choice(found)
    if replace_word(text, b, a):  # both terms present: exchange them
        marker = "\x00"
        return replace_word(replace_word(replace_word(text, a, marker), b, a), marker, b)
    return replace_word(text, a, b)


def negated(text: str) -> str | None:
    if m := NEGATED.search(text):
        said = {"cannot": "can", "n't": ""}.get(m.group(), m.group(1) if m.group(1) else "")
        return text[: m.start()] + said + text[m.end() :]
    if m := AUXILIARIES.search(text):
        return text[: m.start()] + ("cannot" if m.group(1) == "can" else f"{m.group(1)} not") + text[m.end() :]
    return None


def renumbered(text: str, rng: random.Random) -> str | None:
    found = list(NUMBER.finditer(text))
    if not found:
        return None
    m = rng.choice(found)
    value = float(m.group().replace(",", ""))
    if value.is_integer():
        other = str(int(value) * rng.choice([2, 10]) if value > 2 else int(value) + rng.choice([1, 2, 3]))
    else:
        other = f"{value * rng.choice([2, 0.5]):g}" if value > 1 else f"{round(1 - value, 3):g}"
    return text[: m.start()] + other + text[m.end() :] if other != m.group() else None


def entity_swapped(text: str, section_terms: list[str], rng: random.Random) -> str | None:
    """A listed pair of terms exchanged, or an acronym made another acronym of the same section."""
    if out := swapped(text, ENTITY_SWAPS, rng):
        return out
    mine = sorted(set(ACRONYM.findall(text)))
    others = [t for t in section_terms if t not in mine]
    if not mine or not others:
        return None
    return replace_word(text, rng.choice(mine), rng.choice(others))


def rewritten(text: str, heading: str, rng: random.Random) -> str:
    """The sentence said again: a leading clause moved to the end, "It" named, a citation added."""
    if m := LEAD_CLAUSE.match(text):
        text = f"{m.group(3)[0].upper()}{m.group(3)[1:]} {m.group(1).lower()} {m.group(2)}."
    last = heading.split(" > ")[-1].strip()
    if (m := PRONOUN.match(text)) and len(last.split()) <= 4 and rng.random() < 0.7:
        text = f"{last} {text[len(m.group(1)) + 1 :]}"
    if rng.random() < 0.6:
        n = rng.choice("1123")
        text = re.sub(r"\.?$", f" [{n}].", text, count=1)
    return text


def part_of(text: str) -> str | None:
    """The longest piece of a sentence cut at ";", ":" or a dash: a claim that says less is still stated."""
    pieces = [p.strip(" .") for p in re.split(r"; |: | – | — ", text)]
    longest = max(pieces, key=len)
    return f"{longest[0].upper()}{longest[1:]}." if len(pieces) > 1 and len(longest.split()) >= MIN_WORDS else None


def sentences_of(collection: Collection, name: str) -> list[dict]:
    """Every unit once (overlapping chunks repeat them), with what the model reads for it and where it is."""
    from rag.answer.reader import passage_candidates

    seen, out = set(), []
    for c in collection.chunks:
        units = collection.units[c.id]
        for unit, text in zip(units, passage_candidates(c.heading, units)):
            if (c.source, unit) in seen:
                continue
            seen.add((c.source, unit))
            out.append({"collection": name, "source": c.source, "heading": c.heading, "unit": unit, "note": text})
    return out


def reversals(s: dict, section_terms: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """(kind, claim) for each reversal that applies to the sentence."""
    text = clean(s["unit"])
    made = {
        "negation": negated(text),
        "antonym": swapped(text, ANTONYM_SWAPS, rng),
        "number": renumbered(text, rng),
        "entity": entity_swapped(text, section_terms, rng),
    }
    return [(kind, claim) for kind, claim in made.items() if claim and words(claim) != words(text)]


def neighbours(s: dict, sentences: list[dict], by_section: dict, rng: random.Random) -> list[tuple[str, str]]:
    """Another sentence of the same section, and one of another section of the note sharing two words."""
    out = []
    same = [o for o in by_section[s["heading"]] if words(o["unit"]) != words(s["unit"])]
    if same:
        out.append(("neighbour", clean(rng.choice(same)["unit"])))
    mine = set(words(s["unit"])) - STOP
    far = [o for o in sentences if o["heading"] != s["heading"] and len(mine & set(words(o["unit"]))) >= 2]
    if far:
        out.append(("neighbour", clean(rng.choice(far)["unit"])))
    return out


def pairs_for(sentences: list[dict], rng: random.Random) -> list[dict]:
    by_section: dict[str, list[dict]] = {}
    for s in sentences:
        by_section.setdefault(s["heading"], []).append(s)
    terms = {h: sorted({t for s in group for t in ACRONYM.findall(s["unit"])}) for h, group in by_section.items()}
    rows = []
    for s in sentences:
        # validation notes give every sentence: more to measure each kind by
        share = 1.0 if (s["collection"], s["source"]) in VAL_NOTES else CLAIM_SHARE
        if not is_claim(s["unit"]) or rng.random() > share:
            continue
        made = [("rewrite", rewritten(clean(s["unit"]), s["heading"], rng))]
        if piece := part_of(clean(s["unit"])):
            made.append(("rewrite", piece))
        made += reversals(s, terms[s["heading"]], rng) + neighbours(s, sentences, by_section, rng)
        rows += [row(s, claim, kind) for kind, claim in made]
    return rows


def row(s: dict, claim: str, kind: str) -> dict:
    positive = kind in ("rewrite", "paraphrase")
    split = "val" if (s["collection"], s["source"]) in VAL_NOTES else "train"
    return {"claim": claim, "note": s["note"], "label": int(positive), "kind": kind, "split": split} | {
        k: s[k] for k in ("collection", "source", "heading")
    }


def content(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOP and len(w) > 2}


def paraphrases(name: str, sentences: list[dict]) -> list[dict]:
    """Two answer quotes of one question in different sentences that share most of their content words:
    the one sentence is the note, the other quote the claim."""
    rows = []
    for q in load_questions(name):
        quotes = [quote.split("::", 1)[-1] for quote in q.quotes if is_claim(quote)]
        for i, a in enumerate(quotes):
            home = [s for s in sentences if label(s["unit"], s["source"], [a], q.source)][:1]
            for b in quotes[:i] + quotes[i + 1 :]:
                shared = len(content(a) & content(b)) / max(1, len(content(a)), len(content(b)))
                if home and shared >= PARAPHRASE_OVERLAP and words(b) not in (words(a), words(home[0]["unit"])):
                    rows.append(row(home[0], clean(b), "paraphrase"))
    return rows


def interview_wrongs(sentences: list[dict]) -> list[dict]:
    """The hand-written wrong answers against the sentences of the section they are about."""
    rows = []
    for r in map(json.loads, INTERVIEW.read_text().splitlines()):
        if r["label"] != "wrong_on_topic":
            continue
        section = [s for s in sentences if s["heading"] == r["heading"] and is_claim(s["unit"])]
        rows += [row(s, r["answer"], "interview") for s in section]
    return rows


def build() -> list[dict]:
    rng = random.Random(SEED)
    rows = []
    with tempfile.TemporaryDirectory(prefix="support-pairs-") as tmp:
        for name in COLLECTIONS:
            sentences = sentences_of(Collection(name, Path(tmp)), name)
            rows += pairs_for(sentences, rng) + paraphrases(name, sentences)
            if name == "shipped":
                rows += interview_wrongs(sentences)
    return rows


def summary(rows: list[dict]) -> str:
    counts = Counter((r["kind"], r["split"]) for r in rows)
    lines = ["| kind | label | train | val |", "|---|---|---|---|"]
    for kind in ("rewrite", "paraphrase", "negation", "antonym", "number", "entity", "neighbour", "interview"):
        positive = int(kind in ("rewrite", "paraphrase"))
        lines.append(f"| {kind} | {positive} | {counts[kind, 'train']} | {counts[kind, 'val']} |")
    return "\n".join(lines)


def main() -> None:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    rows = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(summary(rows))
    print(f"{len(rows)} pairs, {OUT.stat().st_size / 1e6:.1f} MB -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
