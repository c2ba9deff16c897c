"""Turning a follow-up in a conversation into a question that retrieval can answer on its own."""

from __future__ import annotations

import re

# Words that point back at something said before ("why does *it* help?").
ANAPHORA = re.compile(
    r"\b(it|its|this|that|these|those|they|them|their|he|she|the same|the former|the latter|above|mentioned|one)\b",
    re.IGNORECASE,
)
CONTINUATION = re.compile(r"^\s*(and|but|so|also|what about|how about|why|how come|then|or)\b", re.IGNORECASE)
# a pronoun standing for the previous question's topic: "Why does *that* help training?"
STANDS_FOR = re.compile(r"\b(its|their|it|this|that|they|them|these|those)\b", re.IGNORECASE)
# the words of a question around its topic: "What does | batch normalization | do?"
ASKING = set(
    """what why how when where which who whom is are was were does do did can could should would will a an the of
    in on for to and or me us you i we my your explain describe tell about define mean means meant use used using
    work works help helps give show list compare between vs versus difference""".split()
)


def message_text(content) -> str:
    """A message's text whatever shape the client sent: a string, or OpenAI/Gradio-style parts
    (`[{"type": "text", "text": ...}, ...]`, which Gradio's Chatbot sends back for earlier turns).
    Parts that are not text (files, images) carry nothing retrieval or the prompt can use."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = [content] if isinstance(content, dict) else content
    if not isinstance(parts, (list, tuple)):
        raise TypeError(f"a chat message's content must be text or a list of text parts, not {type(content).__name__}")
    texts = [
        p if isinstance(p, str) else p.get("text") or ""
        for p in parts
        if isinstance(p, str) or (isinstance(p, dict) and p.get("type", "text") == "text")
    ]
    return "\n".join(t for t in texts if t)


def plain_messages(messages: list[dict]) -> list[dict]:
    """`{"role", "content": str}` turns: the one shape everything after the API's entry reads."""
    return [{"role": m.get("role", "user"), "content": message_text(m.get("content"))} for m in messages]


def user_turns(messages: list[dict]) -> list[str]:
    """What the user said, turn by turn, empty turns left out."""
    return [m["content"].strip() for m in messages if m.get("role") == "user" and m.get("content", "").strip()]


def needs_context(question: str) -> bool:
    words = re.findall(r"\w+", question)
    return len(words) <= 3 or bool(ANAPHORA.search(question)) or bool(CONTINUATION.match(question))


def standalone_query(messages: list[dict]) -> str:
    """The last user turn, prefixed by the previous user turn when it leans on it.

    The previous question carries the topic's own words, which is what both BM25 and the embedding
    need; asking a small LLM to paraphrase loses them more often than it helps.
    """
    users = user_turns(messages)
    if not users:
        raise ValueError("a chat needs at least one user message")
    last = users[-1]
    if len(users) == 1 or not needs_context(last):
        return last
    return f"{users[-2]} {last}"


def _topic(question: str) -> str:
    """The first run of words that are not the asking itself: "What does batch normalization do?" →
    "batch normalization"; "" when none."""
    run: list[str] = []
    for word in re.findall(r"[\w\-']+", question):
        if word.lower() in ASKING:
            if run:
                break
            continue
        run.append(word)
    return " ".join(run[:4])


def evidence_query(messages: list[dict]) -> str:
    """What the answer's sentences are chosen for: a follow-up with its pronoun replaced by the previous
    question's topic ("Why does batch normalization help training?"). Retrieval reads both questions
    (`standalone_query`), but sentences chosen for both answer the first one again: after "What does
    batch normalization do?", "Why does that help training?" quoted how it normalizes at inference."""
    query = standalone_query(messages)
    users = user_turns(messages)
    if query == users[-1] or not (topic := _topic(users[-2])):
        return query
    resolved, found = STANDS_FOR.subn(
        lambda m: f"{topic}'s" if m.group(1).lower() in ("its", "their") else topic, users[-1], count=1
    )
    return resolved if found else query
