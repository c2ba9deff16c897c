"""Turn a `Concept` into the question the candidate hears.

The served LLM phrases it when one is up; its reply is kept only if it reads as one question about the
concept, so a small model's ramble falls back to the template instead of reaching the user.
"""

from __future__ import annotations

import re
from functools import cache

from rag.answer.reader import Reader, passage_candidates
from rag.interview.concepts import DIFFERENCE, GENERIC, PROS_CONS, QUESTION_WORD, STEP, Concept, company_name

KIND_ASKS = {
    "definition": "what it is and what it is for",
    "compare": "how the things named compare: what they share and how they differ",
    "why": "why or when it is used, and its trade-offs",
    "formula": "its formula and what each symbol means",
    "calculation": "working through the calculation step by step",
    "scenario": "what the candidate would conclude and do in a concrete situation",
    "pitch": "a short self-introduction for a job interview",
    "ask": "which questions the candidate would ask the interviewer",
    "background": "what the candidate knows about the company",
}

PHRASE_PROMPT = """Write one interview question for a machine-learning job interview.
It must test: {asks}, about "{term}"{where}.
The candidate's notes on it say:
{excerpt}
Ask it directly, as the interviewer would say it; keep the topic in it.
Reply with the question only, one sentence ending with a question mark."""

# the reader's best score for a question against its section's sentences, below which the section does
# not answer it. On the 30 labelled "before" questions: the highest cut that keeps 14 of the 15 answerable
# ones (the next lowest scored 0.56); none of the other 15 scored below 0.6, so the reader only guards
# against a question that drifted from its section (eval/datasets/README.md, "Interview questions")
ANSWERABLE = 0.5
# an LLM reply that talks about the question instead of asking it
META = re.compile(
    r"^(the )?(interviewer|candidate|question|answer|here\b|sure\b|okay\b|ok\b|certainly\b)|"
    r"\b(interview question|machine-learning job interview|job interview|your notes?)\b",
    re.I,
)
# a heading "How It Works in a Sequence" under "Transformers", "What it Measures" under "Understanding the
# Gini Index": the question needs its subject back
IT_QUESTION = re.compile(r"^(how|what|why) (?:it|they) (\w+?)s?\b(.*?)\??$", re.I)
# the items under "Local Minima in a loss function (how to deal)" are remedies for it
REMEDY = re.compile(r"\bhow to (deal|see|handle|avoid|fix|prevent|reduce)\b|\bdealing with\b", re.I)
# a heading that gathers topics ("Neural Network Terminologies", "Parts of a DNN") is no context to ask in
COLLECTION = re.compile(
    r"terminolog|summary|overview|^parts? of|key points|steps|basics?|concepts|introduction|^how\b|workflow|"
    r"hierarchy|interaction|example|frameworks?|techniques|table|chapter|^models?$|^\d|^applications?$|^uses$|"
    r"^representations$|categories|\bv(?:s|ersus)\b",
    re.I,
)


SMALL_WORDS = {"A", "AN", "AND", "THE", "OF", "IN", "ON", "TO", "FOR", "WITH", "INTO", "VS", "YOUR", "OWN", "TWO"}


# a heading opening with one of these is no name of a thing: "For BDTs ...", "Parts of a DNN"
NOT_A_NOUN = {
    "for",
    "in",
    "on",
    "with",
    "how",
    "parts",
    "steps",
    "using",
    "when",
    "where",
    "about",
    "reduction",
    "types",
}


def readable(term: str) -> str:
    """'LARGE LANGUAGE MODEL (LLM)' → 'large language model (LLM)', 'OPEN SOURCE LLMS' → 'open source
    LLMs': shouting headings, readable question. Words of up to three capitals are acronyms (ANN, RL)
    unless they are small English words, and so is what stands in brackets."""
    if term.upper() != term:
        return term

    def word(m: re.Match) -> str:
        w = m.group(0)
        if len(w) <= 3 and w not in SMALL_WORDS:
            return w
        # "LLMS" is LLMs, "LOSS" a word: an acronym has no vowels
        return w[:-1] + "s" if len(w) == 4 and w.endswith("S") and not re.search("[AEIOU]", w[:-1]) else w.lower()

    outside = re.split(r"(\([^)]*\))", term)
    return "".join(part if part.startswith("(") else re.sub(r"\b[A-Z][A-Z\-]+\b", word, part) for part in outside)


def context(concept: Concept) -> str:
    """The nearest heading above the term that names a topic ("Autoencoders", "Random Forest"), so that
    "the loss function" is asked as the autoencoder's; "" when the term says enough on its own."""
    term = concept.term.lower()
    for level in reversed(concept.heading.split(" > ")[1:]):
        # "Autoencoders - huge for anomaly detections" → "Autoencoders"; "Bias - Variance Tradeoff" stays whole
        name = re.sub(r"\s*#\w+|^(understanding|about|introduction to)\s+", "", level, flags=re.I)
        name = re.sub(r"\s+[-–:]\s+(?=[a-z]|\S*,).*$|\s*\(.*\)$", "", name).strip()
        # "Why parameterize model parameters?" asks; it names no topic
        question = name.endswith("?") or QUESTION_WORD.match(name)
        if term in level.lower() or not name or question or GENERIC.match(name) or COLLECTION.search(name):
            continue
        # "Caveats and Considerations for BDTs and Gradient Boosting" is about BDTs and gradient boosting
        name = re.sub(r"^.*\bfor\s+", "", name) if len(name.split()) > 4 else name
        return readable(name) if len(name.split()) <= 4 and not _names(term, name) else ""
    return ""


def _squashed(text: str) -> str:
    """ "Bias - Variance Tradeoff" and "bias-variance tradeoff" alike: lower case, letters and digits only."""
    return re.sub(r"\W", "", text.lower())


def _names(term: str, topic: str) -> bool:
    """Whether the term already says the topic ("Random Forest reduction of Overfitting", "Random Forest")."""
    return _squashed(topic) in _squashed(term)


def _remedy_for(concept: Concept) -> str:
    """ "local minima in a loss function" for an item under "Local Minima in a loss function (how to deal)";
    for one under "How to deal with it?" the heading above that; "" when the term is no remedy."""
    levels = [level for level in concept.heading.split(" > ")[1:] if level != concept.term]
    for i in reversed(range(len(levels))):
        if REMEDY.search(levels[i]):
            name = re.sub(r"\s*\([^)]*\)", "", levels[i]).strip()
            if re.match(r"^(how|dealing)\b", name, re.I):
                name = levels[i - 1] if i else ""
            remedy = _plain(readable(name)) if name else ""
            # "How can Bias-Variance Trade-off help with bias - variance tradeoff?" is no remedy question
            return "" if _squashed(remedy) == _squashed(concept.term) else remedy
    return ""


def _plain(term: str) -> str:
    """ "Local Minima in a loss function" → "local minima in a loss function" mid-sentence; one-word names
    (Keras) and words with capitals inside (TensorFlow, SVMs, K-Fold) stay. Only for headings around the
    term: the term itself is asked as the note writes it, so the question can be found by it."""
    words = term.split()
    if len(words) == 1:
        return term
    return " ".join(w.lower() if w[:1].isupper() and w[1:].islower() else w for w in words)


def _subject(concept: Concept) -> str:
    """What the question names: the term, or for "For BDTs and Gradient Boosting" under "Regularization
    Techniques" the two together; a tag is left out ("Beginner's projects ( #beginner )")."""
    term = re.sub(r"\s*\(\s*#\w+\s*\)|\s+#\w+", "", readable(concept.term))
    parent = next((p for p in reversed(concept.heading.split(" > ")[1:]) if p != concept.term), "")
    if term.split()[0].lower() in NOT_A_NOUN and parent:
        return f"{readable(parent)} {term[0].lower()}{term[1:]}"
    return term


def template_question(concept: Concept) -> str:
    topic = context(concept)
    term = _subject(concept)
    company = company_name(concept.heading.split(" > ")[0])
    where = _where(topic, term)
    match concept.kind:
        case "compare" if (m := DIFFERENCE.match(term)) and topic:
            return f"What sets {topic} apart {m.group(1)} {_plain(term[m.end() :].strip())}?"
        case "compare":
            return f"Compare {term}: what do they have in common and how do they differ?"
        case "why" if (m := IT_QUESTION.match(concept.prompt)) and topic:
            does = _be(topic, "does", "do")
            rest = f" {_plain(m.group(3).strip())}" if m.group(3).strip() else ""
            return f"{m.group(1).capitalize()} {does} {topic} {m.group(2).lower()}{rest}?"
        case "why" if concept.prompt:
            return concept.prompt if len(concept.prompt.split()) > 3 else f"{concept.prompt} Explain{where}."
        case "why" if PROS_CONS.search(concept.term):
            return f"What are the {term.lower()} of {topic or 'this method'}?"
        case "why":
            # "What problem does overfitting address" asks a problem what problem it solves
            it = _be(term, "does it", "do they")
            return f"Why {_be(term, 'does', 'do')} {term} matter{where}, and when {it} come into play?"
        case "scenario":
            return _scenario_question(concept, term, where)
        case "formula":
            # "the formula for The TD-Learning update rule": the rule is the formula
            term = re.sub(r"^the\s+", "", term, flags=re.I)
            return f"Write down the formula for {term}{where} and explain each of its terms."
        case "calculation" if concept.prompt:
            return f"{concept.prompt} (your notes work this through under {term})"
        case "calculation":
            return _calculation_question(term, where)
        case "list":
            return _list_question(concept)
        case "pitch":
            return f"Introduce yourself as you would at {company}: who are you and what do you bring?"
        case "ask":
            return f'Which questions would you ask your interviewer at {company}? (your notes: "{term}")'
        case "background":
            return f"What do you know about {term}?"
        case _ if remedy := _remedy_for(concept):
            return f"How can {term} help with {remedy}?"
        case _ if REMEDY.search(term):
            # "Local Minima in a loss function (how to deal)" asks how to deal with them
            return f"How do you deal with {_plain(term.split(' (')[0])}?"
        case _ if len(term.split()) <= 3:
            return f"What {_be(term, 'is', 'are')} {term}{where}?"
        case _:
            return f"Explain {term}{where}."


def _where(topic: str, term: str) -> str:
    """ " in Autoencoders": "the loss function" is the autoencoder's, and a long term keeps its topic too
    ("Statistical Power and Constrained Fitting" alone lost its cascading BDTs); none where the term names
    it already ("Random Forest reduction of Overfitting") or says whose it is ("Difference from BDTs")."""
    return (
        f" in {topic}"
        if topic and not _names(term, topic) and len(term.split()) <= 6 and not DIFFERENCE.match(term)
        else ""
    )


def _scenario_question(concept: Concept, term: str, where: str) -> str:
    """A choice the candidate makes ("you set it to a low value") has consequences; an observation ("the
    validation loss rises") is a symptom to read, and to act on where the notes say what to do (most of
    them only diagnose it: "what do you do" was then not answerable from them)."""
    situation = concept.prompt[0].lower() + concept.prompt[1:]
    acts = any(ACTION.search(p) for p in concept.key_points)
    ask = (
        "What happens, and why?"
        if CHOICE.match(situation)
        else "What does that tell you, and what do you do?"
        if acts
        else "What does that tell you?"
    )
    return f"Working with {term}{where}, suppose {situation}. {ask}"


def _calculation_question(term: str, where: str) -> str:
    """ "Calculate the Gini Index for Each Split", "Splitting on a Feature": a heading that says what to do is
    asked as it says; another as its worked example."""
    if STEP.match(term):
        how = "" if term.split()[0].lower().endswith("ing") else "how to "
        return f"Walk me through {how}{_plain(term[0].lower() + term[1:])}{where}: what do you compute, and how?"
    return f"Walk me through a worked example of {_plain(term)}{where}: what do you compute, and how?"


# what a note says to do about a situation ("training stops", "use more data", "consider regularization")
ACTION = re.compile(
    r"\b(stops?|us(?:e|ing)|try|apply|add|collect\w*|gather|augment\w*|reduce|increase|decrease|regulari[sz]\w*|consider|should|"
    r"retrain|re-train|fix|prevent|avoid|version\w*|tune|lower|raise|simplify|explore|exploit)\b",
    re.I,
)
CHOICE = re.compile(r"(you|we)\s+(set|choose|use|increase|decrease|add|remove|pick|make|raise|lower)\b", re.I)
# a last word ending in s that is no plural: "Loss", "Bias", "Analysis", "Physics", "Focus", "Series"
SINGULAR_S = re.compile(r"(ss|us|is|as)$|^(series|physics|statistics|mathematics|ethics|economics)$", re.I)


def _be(term: str, one: str, many: str) -> str:
    """ "is" for "Batch Normalization", "are" for "Kernels" and "SVMs": the verb agrees with the head noun."""
    # the head noun: "Training on Residuals" is one training
    head = re.split(r"\s(?:on|of|for|in|with|from|to)\s", re.sub(r"\s*\([^)]*\)", "", term))[0]
    last = head.split()[-1]
    plural = last.endswith("s") and last[:-1].isalpha() and not SINGULAR_S.search(last)
    both = " and " in head  # "Transformers and the Attention Mechanism" are two things
    return many if plural or both or last.lower() in {"data", "criteria"} else one


# a heading naming what its items are instances of: "Which ML compilers do you know?"
CATEGORY = re.compile(
    r"(components|techniques|methods|algorithms|models|compilers|metrics|types|kinds|layers|parts|ways|"
    r"strategies|architectures|tools|libraries|frameworks|optimizers|losses)",
    re.I,
)


def _list_question(concept: Concept) -> str:
    """The items under a heading asked together: how to deal with the problem they remedy, what each decade
    brought, which of them the candidate knows, or (for items the heading does not name) three of them."""
    items = concept.prompt.split("; ")
    name = re.sub(r"\s*\([^)]*\)|\s*#\w+", "", concept.term).strip()
    usable = not (GENERIC.match(name) or COLLECTION.search(name) or QUESTION_WORD.match(name) or "consists" in name)
    subject = _plain(readable(name)) if usable else context(concept)
    if REMEDY.search(concept.term):
        return f"How do you deal with {subject or 'it'}? Name three ways and how each one helps."
    if all(re.match(r"\d{4}s?\b|future\b", i, re.I) for i in items):
        return f"Walk me through the {subject}: what did each decade bring?"
    if usable and CATEGORY.fullmatch(subject.split()[0]):
        return f"What are the {subject}, and what does each one do?"
    if usable and CATEGORY.fullmatch(subject.split()[-1]):
        return f"Which {subject} do you know, and what does each one do?"
    # "Kernel, Filter, Receptive Field" is one item: its commas would run into the list's
    named = [_plain(readable(i)) for i in sorted(items, key=lambda i: "," in i)[:3]]
    where = f" in {subject}" if subject else ""
    return f"Explain {named[0]}, {named[1]} and {named[2]}{where}: what is each, and how do they relate?"


@cache
def _reader() -> Reader | None:
    return Reader.load()


def answerable(concept: Concept, question: str) -> bool:
    """Whether some sentence of the concept's section answers the question, as the reader model reads
    it (`rag/answer/reader.py`); without a shipped reader every question passes."""
    reader = _reader()
    candidates = passage_candidates(concept.heading, concept.key_points)
    if reader is None or not candidates:
        return reader is None
    return float(reader.scores(question, candidates).max()) >= ANSWERABLE


# words too common in ML notes to show that a question is about this concept
GENERIC_WORDS = {
    "model",
    "models",
    "data",
    "network",
    "networks",
    "neural",
    "learning",
    "layer",
    "function",
    "the",
    "and",
    "for",
    "with",
}


def valid_question(text: str, concept: Concept) -> bool:
    """One question, of interview length, naming at least half of the concept's distinctive words, with no
    talk about itself ("The interviewer: ...", "Here is a question ...")."""
    words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)}
    content = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", concept.term)}
    distinctive = content - GENERIC_WORDS or content
    named = len(distinctive & words)
    return (
        text.endswith("?")
        and text.count("?") == 1
        and 3 <= len(text.split()) <= 40
        and 2 * named >= len(distinctive)
        and not META.search(text)
    )


def llm_question(client, concept: Concept) -> str | None:
    if concept.kind == "list":
        return None  # its heading is often no name ("It consists of 4 main parts"): the template names the entries
    excerpt = "\n".join(f"- {p}" for p in concept.key_points[:4])
    topic = context(concept)
    prompt = PHRASE_PROMPT.format(
        asks=KIND_ASKS[concept.kind], term=_subject(concept), where=f" in {topic}" if topic else "", excerpt=excerpt
    )
    reply = client.complete([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=60, stop=["\n"])
    text = (
        re.sub(r"^([-*•]\s*)?(((interview )?question|q)\s*[:.]\s*)?", "", reply.strip(), flags=re.I).strip().strip('"')
    )
    return text if valid_question(text, concept) else None
