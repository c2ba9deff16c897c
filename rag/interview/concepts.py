"""What a mock interview can ask about, found in the notes themselves.

A chunk is cut into regions at the headings, bold terms ("**Term:** ...") and definition items
("- Term: ...") inside it; each region with enough prose under a usable name is one `Concept`. Its kind
follows the note's own shape: a "versus" heading is a comparison, a heading that is a question is a
why/when question, a section with numbers and a worked example is a calculation, a display formula asks
for the formula. The region's sentences and bullets are the key points an answer is graded against.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import asdict, dataclass, field

from ingest.chunking import SENTENCE_END, Chunk
from ingest.markdown import FENCE
from ingest.sections import DEFINITION, MD_HEADING, NUMBERED, clean_heading
from rag.interview.gloss import is_german

KINDS = ("definition", "compare", "why", "formula", "calculation", "scenario", "list")
DIFFICULTY = {
    "definition": "easy",
    "list": "medium",
    "compare": "medium",
    "why": "medium",
    "formula": "medium",
    "calculation": "hard",
    "scenario": "hard",
}

BOLD_TERM = re.compile(r"^\s*(?:[-*+]|\d+[.)])?\s*[*_]{2,3}([^*_\n]{2,60}?)[*_]{2,3}\s*:?\s*[*_]{0,3}\s*:?\s*(.*)$")
# headings that name a part of a section rather than a topic of its own
GENERIC = re.compile(
    r"^(?:example|examples|exercise|steps?.*|dumps?|conclusion|summary|implications|notes?|contents|intro|"
    r"introduction|basics|given data|your data|in formula terms|an analogy|observations|further insights|"
    r"key points.*|current relevance|other resources|image credits|training|compiling|make predictions|"
    r"output|input|the input|the output|layer \d.*|in summary|flowchart|setting the scene|example in practice)$",
    re.I,
)
CALCULATION = re.compile(r"\b(calculat\w*|example|exercise|compute|evaluate)\b", re.I)
COMPARE = re.compile(r"\s(?:vs\.?|versus)\s|,.+\band\b|\band\b.+,|\bvs\b", re.I)
PROS_CONS = re.compile(r"\b(pros|cons|advantages?|disadvantages?|drawbacks?|caveats?|limitations?|benefits?)\b", re.I)
PITCH = re.compile(r"\b(wer bin ich|who am i|about me|pitch|self[- ]?intro\w*|introduction|vorstellung)\b", re.I)
QUESTION_WORD = re.compile(r"^(why|when|how|what|which|should|can|is|are|do|does)\b", re.I)
# headings that organise a note rather than name a thing to know: agendas, goals, slide titles, a
# question word alone, a line of code, the author's own plans ("Was ist für mich interessant")
AGENDA = re.compile(
    r"^(table of contents|contents|agenda|goals?|objectives?|outline|overview|sprint.*|week \d.*|day \d.*|"
    r"to-?dos?|schedule|timeline|next steps|resources|references|acknowledge?ments?|why|how|what|when|"
    r"basic concepts|key concepts|main points|takeaways?|implementation|calculation|the operation|"
    r"examples? in practice)$"
    r"|\bq\s*&\s*a\b|brainstorm|\bcredit\b|grading|rubric|deliverables?|milestones?|=|`"
    r"|\b(i|me|my|ich|mich|mir|mein\w*)\b",
    re.I,
)
# a step of a worked procedure, not a thing to know: an order ("Multiply by V", "Choose the Best Split") or
# an activity ("Weighting the Vectors", "Updating Predictions", "Navigating ML Publications"); the nouns
# ML names with -ing ("Boosting", "Pooling", "Training on Residuals") are things
STEP = re.compile(
    r"^(?:(?:don't|do not|apply|add|build|calculate|choose|compute|convolve|define|divide|feed|initiali[sz]e|look|"
    r"multiply|normali[sz]e|pick|prepare|select|split|sum|take|train|use|weight)\b"
    r"|(?!(?:learning|training|boosting|bagging|pooling|padding|embedding|encoding|clustering|stopping|sampling|"
    r"scaling|pruning|smoothing|broadcasting|reshaping|denoising|discounting|forecasting|tuning|preprocessing|indexing|"
    r"processing|batching|hashing|pretraining|labell?ing|tracking|computing|modell?ing|engineering)\b)[a-z]+ing\b)",
    re.I,
)
# a part named by its place in a walkthrough ("Left Node Weight", "Subsequent Trees", "First Layer"), a
# value ("Size of the resulting feature map: 2×4"), or a word that names no thing on its own
PART = re.compile(
    r"^(?:first|second|subsequent|initial|final|left|right|next|previous|iterative|illustrative|combining)\b"
    r"|:\s*\S*\d|\b(?:left|right) node\b|^node \d|possible splits|\b(?:overall )?(?:summary|overview)$"
    r"|^(?:context|challenges|reminders|documentation|the model learns)$",
    re.I,
)
# a timeline's entry ("1950s - Birth of Machine Learning", "Future - Quantum Machine Learning"): asked only in
# its timeline
TIMELINE = re.compile(r"^(?:\d{4}s?|future)\s*[-–:]", re.I)
# the note's own question about a figure or example it shows ("How many trainable parameters does the network
# have?"): asked alone, nobody knows which network
POINTS_AT = re.compile(r"\b(the (network|image|figure|picture|table|example|graph|plot)|above|below|shown)\b", re.I)
# what a lecture's agenda says it will do ("Discuss the importance of responsible AI")
AGENDA_VERB = re.compile(
    r"^(discuss|address|explore|introduce|cover|present|highlight|examine|outline|share|suggest|encourage|provide|"
    r"describe|review|emphasi[sz]e|offer|showcase|demonstrate|identify|list|detail)\b",
    re.I,
)
# a sentence saying what a thing is for: such a concept is asked as why/when
PURPOSE = re.compile(
    r"\b(to (prevent|avoid|reduce|improve|speed up|stabili[sz]e|mitigate)|helps? (to )?(prevent|avoid|reduce|"
    r"improve|address)|in order to|prevents?|mitigates?|(is|are) used (to|for))\b",
    re.I,
)
DIFFERENCE = re.compile(r"^differences? (from|between|to|with)\b", re.I)
# "If the validation loss does not improve for 5 epochs, training stops": a situation to ask about
# A purpose ("If we want to make a prediction"), an activity ("When building a decision tree, ...") or a
# classification ("If the model is a supervised learning model") is no situation to react to.
CONDITION = re.compile(
    r"^(?:if|when|whenever)\s+(?!(?:it|this|these|they|that|so|we want|you want)\b|\w+ing\b(?:\s+[^\s,]+){0,3},)"
    r"(?![^,]*\b(?:is|are) an?\b)([^,]{20,140}),\s+\S",
    re.I,
)


@dataclass
class Concept:
    key: str  # stable across sessions and re-ingests: Leitner boxes are kept by it
    term: str
    kind: str
    topic: str  # the heading path the concept sits under
    source: str
    heading: str  # file title > heading path, how feedback cites the note
    chunk_ids: list[str]
    key_points: list[str]
    prompt: str = ""  # a question the note asks itself (a bold "Why batchnorm?", an exercise line)
    mode: str = "concepts"

    @property
    def difficulty(self) -> str:
        return DIFFICULTY.get(self.kind, "medium")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Concept:
        return cls(**data)


@dataclass
class _Region:
    name: str | None
    lines: list[str] = field(default_factory=list)
    named_by: str = "heading"  # heading | bold | definition | sentence | chunk


def _is_heading(line: str, source: str) -> str | None:
    if m := MD_HEADING.match(line):
        return clean_heading(m.group(2))
    if (
        not source.endswith(".md")
        and (m := NUMBERED.match(line.strip()))
        and len(line) <= 80
        and line.strip()[-1] not in ".:"
    ):
        return clean_heading(m.group(2))
    return None


def _name(text: str) -> str:
    """ "7.  **XLA**" → "XLA": the number orders the note, it is not part of the concept's name."""
    return re.sub(r"^\d+(?:\.\d+)*\.?\s+", "", clean_heading(text)).strip()


def _regions(chunk: Chunk) -> list[_Region]:
    first = chunk.heading_path[-1] if chunk.heading_path else chunk.title
    regions = [_Region(_name(first), named_by="chunk")]
    in_code = False
    for line in chunk.text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
        if not in_code and (name := _is_heading(line, chunk.source)):
            regions.append(_Region(_name(name)))
            continue
        if not in_code and not line.startswith((" ", "\t")) and (m := BOLD_TERM.match(line) or DEFINITION.match(line)):
            regions.append(
                _Region(
                    _name(m.group(1)),
                    named_by="bold" if line.lstrip("-*+ 0123456789.)").startswith(("*", "_")) else "definition",
                )
            )
            rest = m.group(2) if m.re is BOLD_TERM else line.split(":", 1)[1]
            if rest.strip():
                regions[-1].lines.append(rest.strip())
            continue
        regions[-1].lines.append(line)
    return [r for r in regions if any(line.strip() for line in r.lines)]


def _sentences(text: str) -> list[str]:
    r"""The sentences of a paragraph; a sentence end inside inline math ("$V^{\pi^*}(S_4) = 0.5 \cdot 5$") is
    none: a piece that leaves a "$" open goes on in the next."""
    sentences: list[str] = []
    open_math = False
    for piece in (s for s in SENTENCE_END.split(text) if s):
        if open_math:
            sentences[-1] = f"{sentences[-1]} {piece}"
        else:
            sentences.append(piece)
        open_math = sentences[-1].count("$") % 2 == 1
    return sentences


def key_points(lines: list[str], limit: int = 8, questions: bool = False) -> list[str]:
    """The region's sentences and bullets, without code, tables and fragments.
    The note's own questions ("How can batch norm be demonstrated?") are no points to cover, except
    where the questions are the content (company mode: what to ask the interviewer). A display formula
    belongs to the sentence that introduces it ("The TD-Learning update rule:"): alone that is a label,
    with its formula a point and a model answer; elsewhere a lone formula is no point."""
    points: list[str] = []
    in_code = in_math = False
    paragraph: list[str] = []
    formula: list[str] = []

    def flush() -> None:
        points.extend(_sentences(" ".join(paragraph)))
        paragraph.clear()

    def attach() -> None:
        text = " ".join(formula).strip()
        formula.clear()
        if points and points[-1].rstrip().endswith((":", "$$")) and text.strip("$ "):
            points[-1] = f"{points[-1].rstrip()} {text}"

    for raw in lines:
        line = raw.strip()
        if FENCE.match(raw):
            in_code = not in_code
            flush()
            continue
        if in_code or line.startswith("|") or MD_HEADING.match(line):
            continue  # a heading names the section: the grader masks it, it is no point to cover
        if line.startswith("$$") or in_math:
            flush()
            formula.append(line)
            opened = line.startswith("$$") and not in_math
            in_math = not line.endswith("$$") or (opened and len(line) == 2)
            if not in_math:
                attach()
            continue
        if not line:
            flush()
        elif re.match(r"^([-*+•]|\d+[.)])\s", line):
            flush()
            paragraph.append(re.sub(r"^([-*+•]|\d+[.)])\s+", "", line))
            flush()
        else:
            paragraph.append(line)
    flush()
    # bold, italics and code marks; an underscore only where it opens or closes a word, so that LaTeX
    # subscripts stay (`\\sqrt{d_k}`, `d_{model}`)
    emphasis = re.compile(r"(?<!\^)\*{1,3}|`{1,3}|(?<![\w\\{}^])_{1,3}(?=\w)|(?<=\w)_{1,3}(?![\w{])")
    cleaned = [" ".join(emphasis.sub("", p).split()) for p in points]
    kept = [
        p for p in cleaned if len(re.findall(r"[A-Za-zÀ-ÿ]{2,}", p)) >= 3 and not re.match(r"^sources?\s*:", p, re.I)
    ]
    return [p for p in kept if questions or not p.endswith("?")][:limit]


def _kind(region: _Region, text: str) -> tuple[str, str]:
    """(kind, the note's own question if it has one)."""
    name = region.name or ""
    if name.endswith("?") or QUESTION_WORD.match(name):
        return "why", name if name.endswith("?") else name + "?"
    numbers = len(re.findall(r"\d+\.\d+|\d+\s*[=×*·]", text))
    if CALCULATION.search(name) and numbers >= 2:
        asked = next(
            (
                line.strip()
                for line in region.lines
                if re.match(r"^\s*(calculate|compute|evaluate|work)\b", line, re.I) or line.strip().endswith("?")
            ),
            "",
        )
        return "calculation", asked
    if COMPARE.search(name):
        return "compare", ""
    # a section that opens with "Limitations of (simple) RNNs: …" under "Transformers" answers what those
    # limitations are, not why transformers matter
    if (
        (label := re.match(r"\s*([^:\n.]{3,60}):", text))
        and PROS_CONS.search(label.group(1))
        and not PROS_CONS.search(name)
    ):
        said = label.group(1).strip().strip("*_")
        return "why", f"What are the {said[0].lower()}{said[1:]}?"
    if PROS_CONS.search(name) or PROS_CONS.search(text[:200]):
        return "why", ""
    if "$$" in text and region.named_by in ("heading", "chunk"):
        return "formula", ""
    return "definition", ""


def _concept_key(source: str, term: str, kind: str) -> str:
    return hashlib.sha1(f"{source}\0{term.lower()}\0{kind}".encode()).hexdigest()[:12]


def _usable(name: str | None) -> bool:
    # a "heading" ending in a full stop is a step of a procedure ("Feed the training data to the model.")
    if not name or GENERIC.match(name.strip()) or len(name.split()) > 9 or name.endswith("."):
        return False
    return re.search(r"[A-Za-z]{3}", name) is not None


def _company_kind(region: _Region, chunk: Chunk) -> str | None:
    """pitch (the self-introduction), ask (questions for the interviewer) or background (the company)."""
    name = region.name or chunk.title
    lines = [line for line in region.lines if line.strip()]
    questions = [line for line in lines if line.strip().endswith("?")]
    if PITCH.search(name):
        return "pitch"
    if len(questions) >= 2 and len(questions) * 2 >= len(lines):
        return "ask"
    company = company_name(chunk.title)
    if (
        region.named_by in ("heading", "chunk")
        and name != chunk.title
        and company.lower() in " > ".join([*chunk.heading_path, name]).lower()
    ):
        return "background"
    return None


def _continue(concept: Concept, chunk: Chunk, lines: list[str], limit: int = 8) -> None:
    """A section longer than one chunk goes on in the next: its text there belongs to the concept the
    previous chunk ended in (the paragraph under "REINFORCEMENT LEARNING (RL)", not only its first line).
    Chunks overlap, so points already kept are not added twice."""
    new = [p for p in key_points(lines) if not any(p in kept for kept in concept.key_points)]
    if new and len(concept.key_points) < limit:
        concept.key_points.extend(new[: limit - len(concept.key_points)])
        concept.chunk_ids.append(chunk.id)


def concepts_from_chunks(chunks: list[Chunk], min_points: int = 1) -> list[Concept]:
    found: dict[str, Concept] = {}
    previous: Chunk | None = None
    tail: Concept | None = None  # the concept the previous chunk ended in
    for chunk in chunks:
        continues = previous is not None and (previous.source, previous.heading_path) == (
            chunk.source,
            chunk.heading_path,
        )
        previous, last = chunk, tail
        tail = None
        for region in _regions(chunk):
            # the same section going on in the same vein; a formula or a limitations list that follows
            # is a question of its own
            if (
                continues
                and last is not None
                and region.named_by == "chunk"
                and _kind(_Region(last.term, region.lines), "\n".join(region.lines))[0] == last.kind
            ):
                _continue(last, chunk, region.lines)
                tail = last
                continue
            tail = None
            text = "\n".join(region.lines)
            name = region.name
            if name == chunk.title or _company_kind(region, chunk) in ("pitch", "ask"):
                continue  # a whole note is no concept; the interview-prep parts belong to company mode
            if not _usable(name):
                # "Example:" under "Gini Index" is the Gini index's example
                name = next((h for h in reversed(chunk.heading_path) if _usable(h)), None)
                if name is None or not CALCULATION.search(region.name or ""):
                    continue
                region = _Region(f"{name} example", region.lines, region.named_by)
            kind, asked = _kind(region, text)
            if kind == "calculation":
                name = region.name.removesuffix(" example")
            points = key_points(region.lines)
            if len(points) < min_points:
                continue
            key = _concept_key(chunk.source, name, kind)
            if key in found:
                continue
            found[key] = tail = Concept(
                key=key,
                term=name,
                kind=kind,
                topic=chunk.heading,
                source=chunk.source,
                heading=chunk.heading
                if region.named_by == "chunk" or name in map(_name, chunk.heading_path)
                else f"{chunk.heading} > {name}",
                chunk_ids=[chunk.id],
                key_points=points,
                prompt=asked,
            )
    taken = {(c.term, c.kind) for c in found.values()}
    for concept in found.values():
        _ask_by_content(concept, taken)
    return _lists(list(found.values()))


def _lists(concepts: list[Concept]) -> list[Concept]:
    """Items of an enumeration are asked together, as an interviewer asks them: the parts of an autoencoder,
    the ML compilers, the ways to deal with local minima; not "What is Bottleneck?" alone. A heading with
    three or more items of a line or two each becomes one `list` concept whose key points are the items'
    first sentences, named; an item of one sentence is then asked only there."""
    under: dict[tuple[str, str], list[Concept]] = {}
    for c in concepts:
        parent = c.heading.rsplit(" > ", 1)[0]
        if " > " in parent:  # a whole file is no list
            under.setdefault((c.source, parent), []).append(c)
    folded: set[str] = set()
    lists = []
    for (source, parent), items in under.items():
        name = _name(parent.rsplit(" > ", 1)[1])
        items = [c for c in {c.term: c for c in items}.values() if c.term != name]
        # entries of a line or two, each a named thing: not the sub-sections of a topic, a procedure's steps or
        # a worked example's parts
        named = all(
            c.kind in ("definition", "why", "scenario") and not c.prompt and not _step_or_part(c.term) for c in items
        )
        # an item with headings of its own under it is a sub-section of a topic, not an entry of a list
        named = named and not any(key[1].startswith(c.heading) for c in items for key in under)
        if len(items) < 3 or not named or 3 * sum(len(c.key_points) <= 2 for c in items) < 2 * len(items):
            continue
        lists.append(
            Concept(
                key=_concept_key(source, name, "list"),
                term=name,
                kind="list",
                topic=parent,
                source=source,
                heading=parent,
                chunk_ids=list(dict.fromkeys(i for c in items for i in c.chunk_ids)),
                key_points=[f"{c.term}: {c.key_points[0]}" for c in items][:8],
                prompt="; ".join(c.term for c in items[:8]),
            )
        )
        folded.update(c.key for c in items if len(c.key_points) <= 1)
        # the heading's own introduction is asked through its list: "How do you deal with local minima?"
        # asked of the intro alone had nothing to grade against
        folded.update(c.key for c in concepts if (c.source, c.heading) == (source, parent) and c.kind != "list")
    return [c for c in concepts if c.key not in folded] + lists


def _ask_by_content(concept: Concept, asked: set[tuple[str, str]]) -> None:
    """A definition whose section states a situation ("If the validation loss does not improve...") is
    asked as a scenario, one that says what the thing is for as why/when: the note's content, not only
    its shape, decides the kind. The key keeps the shape's kind, so Leitner boxes and labelled answers
    keep finding the concept."""
    if concept.kind != "definition":
        return
    # "(e.g., adding more features)" holds a comma that is no end of the condition
    plain = [re.sub(r"\s*\([^)]*\)", "", p) for p in concept.key_points]
    situation = next((m.group(1) for p in plain if (m := CONDITION.match(p))), None)
    worked = CALCULATION.search(concept.heading) and len(re.findall(r"\d", " ".join(plain))) >= 4
    kind = (
        "scenario"
        if situation
        else "calculation"
        if worked
        else "compare"
        if DIFFERENCE.match(concept.term)
        else "why"
        if any(PURPOSE.search(p) and _names(p, concept.term) for p in plain)
        else None
    )
    if kind and (concept.term, kind) not in asked:
        asked.add((concept.term, kind))
        concept.kind, concept.prompt = kind, situation or ""


def _names(sentence: str, term: str) -> bool:
    """Whether the sentence is about the term ("A dropout layer is ... used to prevent overfitting"), not
    about something else in its section: it names the term's last word, or its stem."""
    words = re.findall(r"[A-Za-z]{3,}", term)
    return bool(words) and words[-1].lower()[:5] in sentence.lower()


def _step_or_part(term: str) -> bool:
    return bool(STEP.match(term) or PART.search(term))


def substantive(concept: Concept) -> bool:
    """Worth an interview question: a named thing, not an agenda item, goal or code line, with prose
    under it (a label ending in ":" or a formula alone is no answer to ask for)."""
    # a worked example is asked as one ("Walk me through how to calculate the Gini index for each split")
    step = STEP.match(concept.term) and concept.kind != "calculation"
    step = step or PART.search(concept.term) or TIMELINE.match(concept.term)
    step = step or (concept.kind == "why" and POINTS_AT.search(concept.prompt))
    # a German section is company mode's to ask, graded through a gloss; as a concept it reads as nonsense
    if AGENDA.search(concept.term) or step or is_german(concept.heading):
        return False
    prose = [
        p
        for p in concept.key_points
        if not p.rstrip().endswith(":") and len(re.findall(r"[A-Za-z]{2,}", p)) >= 0.6 * len(p.split())
    ]
    if prose and sum(bool(AGENDA_VERB.match(p)) for p in prose) * 2 >= len(prose):
        return False
    # a sentence, not a data row ("Lepton pT (in GeV): 14 (bkg), 16 (bkg), 20 (sig)")
    return any(len(p.split()) >= 7 and len({w.lower() for w in re.findall(r"[A-Za-z]{3,}", p)}) >= 4 for p in prose)


def company_notes(chunks: list[Chunk], patterns: list[str]) -> list[Chunk]:
    return [
        c
        for c in chunks
        if any(fnmatch.fnmatch(c.source.lower(), p.lower()) for p in patterns) or "interview" in c.tags
    ]


def company_name(title: str) -> str:
    """ "Accenture Prep" → "Accenture": the note's title without the words that say what it is for."""
    words = [
        w
        for w in re.split(r"[\s_-]+", title)
        if w.lower() not in {"prep", "preparation", "interview", "notes", "vorbereitung"}
    ]
    return " ".join(words) or title


def company_concepts(chunks: list[Chunk]) -> list[Concept]:
    """Self-introduction, questions for the interviewer, and what the notes say about the company."""
    found: list[Concept] = []
    for chunk in chunks:
        for region in _regions(chunk):
            kind = _company_kind(region, chunk)
            if kind is None:
                continue
            name = region.name or chunk.title
            path = " > ".join(chunk.heading_path if chunk.heading_path[-1:] == [name] else [*chunk.heading_path, name])
            points = key_points(region.lines, questions=kind == "ask")
            if not points or any(c.term == name for c in found):
                continue  # a section continued in the next chunk is one thing to practise
            found.append(
                Concept(
                    key=_concept_key(chunk.source, name, kind),
                    term=name,
                    kind=kind,
                    topic=f"{chunk.title} > {name}",
                    source=chunk.source,
                    heading=f"{chunk.title} > {path}" if name != chunk.title else chunk.title,
                    chunk_ids=[chunk.id],
                    key_points=points,
                    mode="company",
                )
            )
    return found


def matches_topic(concept: Concept, topic: str | None) -> bool:
    if not topic:
        return True
    needle = topic.lower()
    return needle in concept.topic.lower() or needle in concept.term.lower() or needle in concept.source.lower()
