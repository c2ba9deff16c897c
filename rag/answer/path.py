"""The answer path, top to bottom: retrieve → evidence → decide → generate → verify → compose.

`answer()` is the whole policy: which answers are made without the LLM (an abstention, the notes' own
sentences), when the model's reply is trusted, and every fallback. The steps themselves live in their
own modules (`retrieve`, `evidence`, `prompt`, `verify`, `compose`); what they need from the outside (the
index, the embedder, the LLM) comes through `Parts`, which `Assistant` provides.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from rag.answer.citations import attribute, check_citations, excerpt, sources_for
from rag.answer.compose import cut_to_last_sentence, extractive_text, related_text
from rag.answer.evidence import Evidence
from rag.answer.followup import evidence_query, plain_messages, standalone_query
from rag.answer.prompt import fit_to_window
from rag.answer.verify import Verifier, render
from rag.errors import LLMStreamError, LLMUnavailable, ServerError
from rag.types import ANSWER_MODES, Answer, AnswerMode, Hit

if TYPE_CHECKING:
    from ingest.embed import Embedder
    from rag.answer.prompt import PromptTemplate
    from rag.answer.support import SupportModel
    from rag.llm.client import LLMClient, TokenCounter
    from rag.settings import Settings


class Parts(Protocol):
    """What the answer path uses; `Assistant` is one."""

    settings: Settings
    embedder: Embedder
    llm: LLMClient
    template: PromptTemplate
    count_llm_tokens: TokenCounter
    support_model: SupportModel | None

    def retrieve(
        self, question: str, k: int | None = None, sources: list[str] | None = None, tags: list[str] | None = None
    ) -> list[Hit]: ...
    def evidence(self, question: str, hits: list[Hit]) -> Evidence: ...
    def ensure_llm(self, autostart: bool | None = None, console=None) -> str | None: ...
    def system_role(self) -> bool: ...


@dataclass(frozen=True)
class Policy:
    """The thresholds that decide how an answer is made (settings; chosen on the tuning questions, README)."""

    abstain_below: float  # the notes do not cover the question: abstain without asking the LLM
    abstain_unless_supported_below: float  # weakly covered: abstain when nothing the LLM wrote is supported
    verified_min_supported: float  # fewer of the model's sentences supported than this share: quote the notes

    @classmethod
    def from_settings(cls, s: Settings) -> Policy:
        return cls(s.abstain_below, s.abstain_unless_supported_below, s.verified_min_supported)

    def covered(self, evidence: Evidence) -> bool:
        """Do the notes cover the question? Retrieval's measures decide: the reader's best score was no
        better at few false abstentions on its validation notes (training/results/reader_eval.md)."""
        return bool(evidence.blocks) and evidence.score >= self.abstain_below


@dataclass
class Reply:
    """What the LLM wrote, as far as it got."""

    text: str
    error: str | None  # the server went away mid-answer
    truncated: bool  # stopped at llm_max_tokens; its unfinished sentence was cut off
    max_tokens: int
    stopped: bool = False  # stopped early: it could no longer pass the check

    @property
    def cut_note(self) -> str | None:
        if not self.truncated:
            return None
        return f"the answer reached llm_max_tokens ({self.max_tokens}); its unfinished last sentence was left out"


class Clock:
    """Seconds since the question arrived, per step (`Answer.timings`)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}
        self._last = self.started

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.timings[step] = now - self._last
        self._last = now

    def mark(self, event: str) -> None:
        self.timings[event] = time.perf_counter() - self.started

    def done(self) -> dict[str, float]:
        self.mark("total")
        return self.timings


def joined(*notices: str | None) -> str | None:
    """Notices for the user, in one line; None when there are none."""
    return "; ".join(n for n in notices if n) or None


def check_mode(mode: str) -> AnswerMode:
    if mode not in ANSWER_MODES:
        raise ValueError(f"unknown answer mode {mode!r}; choose {', '.join(ANSWER_MODES)}")
    return mode  # type: ignore[return-value]


def answer(
    parts: Parts,
    messages: list[dict],
    k: int | None = None,
    sources: list[str] | None = None,
    tags: list[str] | None = None,
    autostart: bool | None = None,
    console=None,
    mode: str | None = None,
) -> Generator[str, None, Answer]:
    """Yields the model's text as it is written; returns the finished `Answer`."""
    messages = plain_messages(messages)  # clients send content as a string or as a list of parts
    s = parts.settings
    mode = check_mode(mode or s.answer_mode)
    policy = Policy.from_settings(s)
    clock = Clock()
    question = messages[-1]["content"]

    # 1. retrieve: the follow-up made standalone, so retrieval sees the topic's own words
    query = standalone_query(messages)
    hits = [] if mode == "closed-book" else parts.retrieve(query, k=k, sources=sources, tags=tags)
    clock.lap("retrieve")

    # 2. evidence: the sentences of the passages that answer, and how well the notes cover the question
    evidence = None
    if mode in ("verified", "extractive"):
        evidence = parts.evidence(evidence_query(messages), hits)
        clock.lap("evidence")
        # 3. decide: not covered, or no LLM wanted
        if not policy.covered(evidence):
            return abstained(question, evidence, clock)
        if mode == "extractive":
            return extractive(question, evidence, clock)

    try:
        started_note = parts.ensure_llm(autostart, console)
    except (LLMUnavailable, ServerError) as e:
        return passages_only(question, hits, evidence, str(e), clock)

    # 4. generate: the evidence (or, raw, the passages) as numbered blocks, streamed back
    prompt, blocks = build_prompt(parts, question, evidence.blocks if evidence else hits, messages[:-1])
    system = parts.template.system_text(len(blocks))
    verifier = Verifier(evidence, parts.embedder, system, parts.support_model) if evidence else None
    reply = yield from generate(parts, prompt, clock, verifier, policy)
    notice = joined(started_note, reply.cut_note)
    if evidence is None:
        return raw(question, reply, blocks, clock, notice, s.citation_attribution)

    # 5. verify: every sentence against the evidence it was given
    claims = verifier.feed(reply.text, final=True).claims

    # 6. compose: the checked sentences, or the notes' own, or an abstention
    return compose(question, evidence, claims, reply, notice, policy, clock)


def build_prompt(parts: Parts, question: str, blocks: list, history: list[dict]) -> tuple[list[dict], list]:
    """The chat messages, and the blocks numbered in them: as many as the context window holds."""
    s = parts.settings
    window = (parts.count_llm_tokens, s.llm_context_window, s.llm_max_tokens)
    blocks, history = fit_to_window(parts.template, question, blocks, *window, history)
    return parts.template.messages(question, blocks, parts.system_role(), history), blocks


def generate(
    parts: Parts, prompt: list[dict], clock: Clock, verifier: Verifier | None, policy: Policy
) -> Generator[str, None, Reply]:
    """The model's reply, streamed. With a `verifier`, each sentence is checked as soon as it is finished,
    and the model is stopped once the reply can no longer pass: its text would be set aside anyway."""
    s = parts.settings
    pieces: list[str] = []
    error = finish = None
    llm_started = time.perf_counter()
    stream = parts.llm.stream_chat(
        prompt,
        temperature=s.llm_temperature,
        max_tokens=s.llm_max_tokens,
        frequency_penalty=s.llm_frequency_penalty,
        repetition_penalty=s.llm_repetition_penalty,
        stop=s.llm_stop,
    )
    try:
        while True:
            try:
                piece = next(stream)
            except StopIteration as done:
                finish = done.value
                break
            if not pieces:
                clock.mark("first_token")
            pieces.append(piece)
            yield piece
            if verifier is not None and verifier.feed("".join(pieces)).hopeless(policy.verified_min_supported):
                stream.close()  # the server aborts the request when its stream is closed
                finish = "hopeless"
                break
    except (LLMUnavailable, LLMStreamError) as e:
        error = str(e)
    clock.timings["generate"] = time.perf_counter() - llm_started
    text = "".join(pieces).strip()
    truncated = finish == "length"
    if finish in ("length", "hopeless"):
        text = cut_to_last_sentence(text) or text  # a fragment is kept when no sentence was finished
    return Reply(text, error, truncated, s.llm_max_tokens, stopped=finish == "hopeless")


def compose(
    question: str, evidence: Evidence, claims: list, reply: Reply, notice: str | None, policy: Policy, clock: Clock
) -> Answer:
    """The verified answer, or what replaces a reply that cannot be trusted."""
    text = render(claims)
    if not text and reply.error:
        # the server went away before anything checkable arrived: the notes' own sentences, and why
        return extractive(question, evidence, clock, claims=claims, notice=notice, error=reply.error)
    if not text:
        if evidence.score < policy.abstain_unless_supported_below:
            return abstained(question, evidence, clock, claims=claims, notice=notice)
        fallback = "nothing the model wrote could be checked against your notes; these are the notes' own sentences"
        return extractive(question, evidence, clock, claims=claims, notice=joined(notice, fallback))
    checked = [c for c in claims if c.outcome != "degenerate"]
    kept = sum(c.supported for c in checked)
    if kept < policy.verified_min_supported * len(checked):
        distrust = (
            f"only {kept} of the {len(checked)} sentences the model wrote "
            f"{'was' if kept == 1 else 'were'} found in your notes; these are the notes' own sentences"
        )
        return extractive(question, evidence, clock, claims=claims, notice=joined(notice, distrust))
    cited = list(dict.fromkeys(c.block for c in claims if c.supported))
    return from_evidence(
        question,
        evidence,
        clock,
        "generated",
        text,
        cited,
        claims=claims,
        error=reply.error,
        notice=notice,
        truncated=reply.truncated,
    )


def numbered(evidence: Evidence) -> list:
    """The evidence blocks as [1..n], then the retrieved passages no sentence was taken from."""
    given = {b.chunk_id for b in evidence.blocks}
    return [*evidence.blocks, *(h for h in evidence.hits if h.chunk_id not in given)]


def from_evidence(
    question: str, evidence: Evidence, clock: Clock, made: str, text: str, cited: list[int], **fields
) -> Answer:
    """An answer made from the evidence: generated (verified), extractive or abstained."""
    return Answer(
        question=question,
        text=text,
        # an abstention cites nothing: its sources are where the notes come closest, as retrieved
        sources=sources_for(evidence.hits if made == "abstained" else numbered(evidence), cited),
        timings=clock.done(),
        llm_used=made == "generated",
        mode=made,
        coverage=evidence.score,
        **fields,
    )


def extractive(question: str, evidence: Evidence, clock: Clock, **fields) -> Answer:
    number_of = {p.chunk_id: n for n, p in enumerate(numbered(evidence), 1)}
    return from_evidence(question, evidence, clock, "extractive", *extractive_text(evidence, number_of), **fields)


def abstained(question: str, evidence: Evidence, clock: Clock, **fields) -> Answer:
    return from_evidence(question, evidence, clock, "abstained", related_text(evidence), [], **fields)


def raw(question: str, reply: Reply, blocks: list, clock: Clock, notice: str | None, attribution: bool) -> Answer:
    """Whole passages in, the model's text out with only its citation numbers checked."""
    text, cited, invalid = check_citations(reply.text, len(blocks))
    attributed: list[int] = []
    if attribution:
        text, attributed = attribute(text, blocks)
    return Answer(
        question=question,
        text=text,
        sources=sources_for(blocks, cited + [n for n in attributed if n not in cited]),
        timings=clock.done(),
        invalid_citations=invalid,
        attributed_citations=attributed,
        error=reply.error,
        notice=notice,
        truncated=reply.truncated,
    )


def passages_only(question: str, hits: list[Hit], evidence: Evidence | None, reason: str, clock: Clock) -> Answer:
    """No LLM could be reached: the notes' own sentences (or, in raw mode, the best passages)."""
    if evidence is not None:
        return extractive(question, evidence, clock, error=reason)
    lines = [f"[{n}] {h.heading}: {excerpt(h.text, 400)}" for n, h in enumerate(hits, 1)]
    timings = clock.timings
    return Answer(
        question=question,
        text="\n".join(lines) if lines else "Nothing in your notes matches this question.",
        sources=sources_for(hits, []),
        timings={**timings, "total": timings["retrieve"]},
        error=reason,
        llm_used=False,
    )
