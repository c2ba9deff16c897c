"""Turn a `Concept` into the question the candidate hears.

The served LLM phrases it when one is up; its reply is kept only if it reads as one question about the
concept, so a small model's ramble falls back to the template instead of reaching the user.
"""

from __future__ import annotations

import re

from rag.interview.concepts import PROS_CONS, Concept, company_name

KIND_ASKS = {
    "definition": "what it is and what it is for",
    "compare": "how the things named compare: what they share and how they differ",
    "why": "why or when it is used, and its trade-offs",
    "formula": "its formula and what each symbol means",
    "calculation": "working through the calculation step by step",
    "pitch": "a short self-introduction for a job interview",
    "ask": "which questions the candidate would ask the interviewer",
    "background": "what the candidate knows about the company",
}

PHRASE_PROMPT = """Write one interview question for a machine-learning job interview.
It must test: {asks}, about "{term}".
The candidate's notes on it say:
{excerpt}
Reply with the question only, one sentence ending with a question mark."""


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
    """'LARGE LANGUAGE MODEL (LLM)' → 'large language model (LLM)': shouting headings, readable question.
    Short capitalised words are acronyms (ANN, RL) unless they are small English words."""
    if term.upper() != term:
        return term
    return re.sub(
        r"\b[A-Z][A-Z\-]+\b",
        lambda m: m.group(0).lower() if len(m.group(0)) > 4 or m.group(0) in SMALL_WORDS else m.group(0),
        term,
    )


def template_question(concept: Concept) -> str:
    term = readable(concept.term)
    company = company_name(concept.heading.split(" > ")[0])
    path = concept.heading.split(" > ")
    parent = next((readable(p) for p in reversed(path[1:-1]) if concept.term.lower() not in p.lower()), "")
    # "Denoising in the context of autoencoder" helps; a whole sentence of a heading as context does not
    context = f" in the context of {parent}" if parent and len(term.split()) <= 2 and len(parent.split()) <= 4 else ""
    match concept.kind:
        case "compare":
            return f"Compare {term}: what do they have in common and how do they differ?"
        case "why" if concept.prompt:
            return (
                concept.prompt
                if len(concept.prompt.split()) > 3
                else f"{concept.prompt.rstrip('?')} — explain{context}?"
            )
        case "why" if PROS_CONS.search(concept.term):
            return f"What are the {term.lower()} of {parent or 'this method'}?"
        case "why":
            return f"Why and when would you use {term}, and what are its drawbacks?"
        case "formula":
            return f"Write down the formula for {term}{context} and explain each of its terms."
        case "calculation" if concept.prompt:
            return f"{concept.prompt} (your notes work this through under {term})"
        case "calculation":
            return f"Work through the calculation for {term}: what is computed, and how?"
        case "pitch":
            return f"Introduce yourself as you would at {company}: who are you and what do you bring?"
        case "ask":
            return f'Which questions would you ask your interviewer at {company}? (your notes: "{term}")'
        case "background":
            return f"What do you know about {term}?"
        case _ if term.split()[0].lower() in NOT_A_NOUN:
            return f"Explain {parent + ': ' if parent else ''}{term}."
        case _ if len(term.split()) <= 3:
            return f"What is {term}{context}?"
        case _:
            return f"Explain {term}{context}."


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
    """One question, of interview length, naming at least half of the concept's distinctive words."""
    words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)}
    content = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", concept.term)}
    distinctive = content - GENERIC_WORDS or content
    named = len(distinctive & words)
    return (
        text.endswith("?") and text.count("?") == 1 and 3 <= len(text.split()) <= 40 and 2 * named >= len(distinctive)
    )


def llm_question(client, concept: Concept) -> str | None:
    excerpt = "\n".join(f"- {p}" for p in concept.key_points[:4])
    prompt = PHRASE_PROMPT.format(asks=KIND_ASKS[concept.kind], term=readable(concept.term), excerpt=excerpt)
    reply = client.complete([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=60, stop=["\n"])
    text = (
        re.sub(r"^([-*•]\s*)?(((interview )?question|q)\s*[:.]\s*)?", "", reply.strip(), flags=re.I).strip().strip('"')
    )
    return text if valid_question(text, concept) else None
