"""The public Python API. The CLI, the UI and the evaluation all go through `Assistant`."""

from __future__ import annotations

import threading
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ingest.embed import Embedder
from ingest.freshness import stale_reason
from ingest.pipeline import IngestOptions, IngestStats, Progress, ingest_notes
from ingest.store import IndexBusy, IndexCorrupt, IndexData, Manifest, current_generation, load_index, read_manifest
from rag import server
from rag.chat import plain_messages, standalone_query
from rag.answering import cut_to_last_sentence, extractive_text, related_text
from rag.citations import attribute, check_citations, excerpt, sources_for
from rag.evidence import Evidence, idf, select_evidence
from rag.llm import LLMClient, LLMStreamError, LLMUnavailable, TokenCounter
from rag.prompt import PromptTemplate, chat_template_has_system_role, fit_to_window
from rag.retrieve import Retriever
from rag.settings import Settings
from rag.types import Answer, Hit
from rag.verify import render, verify

# a question arriving while another process builds the very first index waits this long for it
FIRST_INDEX_WAIT = 600.0

if TYPE_CHECKING:
    from rag.interview.anki import AnkiExport
    from rag.interview.session import InterviewSession
    from rag.note_files import NoteText


def _joined(*notices: str | None) -> str | None:
    """Notices for the user, in one line; None when there are none."""
    return "; ".join(n for n in notices if n) or None


class Assistant:
    def __init__(self, notes_dir: str | Path | None = None, index_dir: str | Path | None = None, settings: Settings | None = None, **overrides):
        given = {k: v for k, v in {"notes_dir": notes_dir, "index_dir": index_dir, **overrides}.items() if v is not None}
        # through the constructor, not model_copy: overrides are validated ("notes" becomes a Path)
        self.settings = Settings(**{**settings.model_dump(), **given}) if settings else Settings(**given)
        self._index: IndexData | None = None
        self._counter: TokenCounter | None = None
        self._idf: tuple[Path, dict[str, float]] | None = None  # per index generation
        self._syncing = threading.Lock()  # one automatic ingest at a time from this object's threads
        self._manifest_seen: tuple = (None, None)  # ((generation, manifest mtime), Manifest)

    @property
    def notes_dir(self) -> Path:
        return self.settings.notes_dir

    @property
    def index_dir(self) -> Path:
        return self.settings.resolved_index_dir

    @cached_property
    def embedder(self) -> Embedder:
        s = self.settings
        return Embedder(s.embedding_model, batch_size=s.embedding_batch_size, cache_dir=s.cache_dir)

    # ---- ingestion ---------------------------------------------------------------------------
    def _ingest_options(self, rebuild: bool = False, lock_wait_seconds: float = 0.0) -> IngestOptions:
        s = self.settings
        return IngestOptions(
            embedding_model=s.embedding_model,
            chunk_tokens=s.chunk_tokens,
            overlap_tokens=s.overlap_tokens,
            index_type=s.index_type,
            hnsw_above=s.hnsw_above,
            rebuild=rebuild,
            lock_wait_seconds=lock_wait_seconds,
        )

    def ingest(self, rebuild: bool = False, progress: Progress | None = None, lock_wait_seconds: float = 0.0) -> IngestStats:
        stats = ingest_notes(self.notes_dir, self.index_dir, self.embedder, self._ingest_options(rebuild, lock_wait_seconds), progress)
        if stats.changed:
            self._index = None
        return stats

    def index_stale(self) -> str | None:
        """Why the index is behind the notes folder ("notes 1 changed, 2 added", "no index yet"), or None.
        A stat scan against the manifest: nothing is read, hashed or embedded. An index built from
        another folder (`rag ingest OTHER --index DIR`) or whose notes folder is gone is left alone, and
        a damaged one is reported when it is loaded."""
        if not self.notes_dir.is_dir():
            return None
        try:
            manifest = self._manifest()
        except IndexCorrupt:
            return None
        if manifest is not None and manifest.notes_dir and Path(manifest.notes_dir) != self.notes_dir.resolve():
            return None
        return stale_reason(self.notes_dir, manifest, self._ingest_options())

    def _manifest(self) -> Manifest | None:
        """The current manifest, parsed again only when it changed on disk (at 10,000 notes parsing
        costs more than the stat scan it serves)."""
        gen = current_generation(self.index_dir)
        try:
            key = (gen, (gen / "manifest.json").stat().st_mtime_ns) if gen else None
        except OSError:  # a generation just replaced; the next call sees the new one
            key = None
        if key is None or self._manifest_seen[0] != key:
            self._manifest_seen = (key, read_manifest(self.index_dir))
        return self._manifest_seen[1]

    def ensure_index(self, progress: Progress | None = None) -> IngestStats | None:
        """With `auto_ingest` on, bring a stale index up to date before it is used; the ingest's stats,
        or None when there was nothing to do. While another ingest runs (the watcher, another thread or
        process) the generation in place answers instead: only a missing index is waited for."""
        if not self.settings.auto_ingest or self.index_stale() is None:
            return None
        first = current_generation(self.index_dir) is None
        if not self._syncing.acquire(blocking=first):
            return None
        try:
            return self.ingest(progress=progress, lock_wait_seconds=FIRST_INDEX_WAIT if first else 0.0)
        except IndexBusy:
            if first:
                raise
            return None
        finally:
            self._syncing.release()

    # ---- retrieval ---------------------------------------------------------------------------
    @property
    def index(self) -> IndexData:
        # Another process (the UI's library tab, a CLI ingest) may have swapped in a new generation.
        # Reading the one-line CURRENT pointer keeps this check cheap however large the manifest grows.
        if self._index is None or current_generation(self.index_dir) != self._index.path:
            self._index = load_index(self.index_dir)
        return self._index

    @property
    def retriever(self) -> Retriever:
        return Retriever.from_settings(self.index, self.embedder, self.settings)

    def retrieve(self, question: str, k: int | None = None, sources: list[str] | None = None, tags: list[str] | None = None) -> list[Hit]:
        self.ensure_index()
        return self.retriever.search(question, self.settings.top_k if k is None else k, sources=sources, tags=tags)

    def warm_up(self) -> None:
        """Load now what the first question would wait for: the embedding model, the index, the LLM's
        tokenizer and chat template. For long-lived processes (the browser app); no index yet is fine."""
        self.embedder.load()
        if read_manifest(self.index_dir) is not None:
            _ = self.index
        self.system_role()
        self.count_llm_tokens("warm up")

    # ---- answering ---------------------------------------------------------------------------
    @cached_property
    def llm(self) -> LLMClient:
        s = self.settings
        return LLMClient(s.llm_base_url, s.llm_model, s.llm_api_key, s.llm_timeout)

    @cached_property
    def template(self) -> PromptTemplate:
        return PromptTemplate.load(self.settings.prompt_template)

    @property
    def count_llm_tokens(self) -> TokenCounter:
        # not cached while the model folder is missing: it appears once `rag serve` prepares it
        if self._counter is None or self._counter.tokenizer is None:
            self._counter = TokenCounter(server.local_model_path(self.settings))
        return self._counter

    def system_role(self) -> bool:
        choice = self.settings.llm_system_role
        if choice != "auto":
            return choice == "yes"
        tokenizer = self.count_llm_tokens.tokenizer
        return True if tokenizer is None else chat_template_has_system_role(tokenizer)

    def _local_endpoint(self) -> bool:
        s = self.settings
        return s.llm_base_url.rstrip("/") == f"http://{s.server_host}:{s.server_port}/v1"

    def ensure_llm(self, autostart: bool | None = None, console=None) -> str | None:
        """Make sure an LLM answers; returns a note when it had to start the local server."""
        if self.llm.is_up():
            return None
        if not (self.settings.llm_autostart if autostart is None else autostart) or not self._local_endpoint():
            raise LLMUnavailable(f"no LLM server answers at {self.settings.llm_base_url}; start one with `rag serve`")
        state = server.start(self.settings, console=console)
        return f"started the local vLLM server ({state.model}, pid {state.pid}, log {state.log}); it stays up for the next question — `rag serve --stop` ends it"

    def evidence(self, question: str, hits: list[Hit]) -> Evidence:
        """The sentences of `hits` that answer `question`, and how well the notes cover it."""
        data = self.index
        if self._idf is None or self._idf[0] != data.path:
            self._idf = (data.path, idf([f"{c.heading}\n{c.text}" for c in data.chunks]))
        return select_evidence(question, hits, self.embedder, self._idf[1], self.settings.evidence_units)

    def stream_chat(
        self,
        messages: list[dict],
        k: int | None = None,
        sources: list[str] | None = None,
        tags: list[str] | None = None,
        autostart: bool | None = None,
        console=None,
        mode: str | None = None,
    ) -> Iterator[str | Answer]:
        """Text pieces as the model writes them, then the final `Answer`. `mode` overrides the
        `answer_mode` setting: verified, extractive or raw."""
        messages = plain_messages(messages)  # clients send content as a string or as a list of parts
        s = self.settings
        mode = mode or s.answer_mode
        if mode not in ("verified", "extractive", "raw"):
            raise ValueError(f"unknown answer mode {mode!r}; choose verified, extractive or raw")
        started = time.perf_counter()
        question = messages[-1]["content"]
        query = standalone_query(messages)
        hits = self.retrieve(query, k=k, sources=sources, tags=tags)
        timings = {"retrieve": time.perf_counter() - started}
        evidence = None
        if mode != "raw":
            evidence = self.evidence(query, hits)
            timings["evidence"] = time.perf_counter() - started - timings["retrieve"]
            if evidence.score < s.abstain_below or not evidence.blocks:
                yield self._abstained(question, evidence, timings, started)
                return
            if mode == "extractive":
                yield self._extractive(question, evidence, timings, started)
                return
        try:
            note = self.ensure_llm(autostart, console)
        except (LLMUnavailable, server.ServerError) as e:
            yield self._passages_only(question, hits, evidence, str(e), timings, started)
            return
        blocks, history = fit_to_window(
            self.template, question, evidence.blocks if evidence else hits, self.count_llm_tokens, s.llm_context_window, s.llm_max_tokens, messages[:-1]
        )
        prompt = self.template.messages(question, blocks, self.system_role(), history)
        pieces: list[str] = []
        error = finish = None
        llm_started = time.perf_counter()
        stream = self.llm.stream_chat(
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
                    timings["first_token"] = time.perf_counter() - started
                pieces.append(piece)
                yield piece
        except (LLMUnavailable, LLMStreamError) as e:
            error = str(e)
        timings["generate"] = time.perf_counter() - llm_started
        reply = "".join(pieces).strip()
        truncated = finish == "length"
        if truncated:
            reply = cut_to_last_sentence(reply) or reply  # a fragment is kept when no sentence was finished
        cut_note = f"the answer reached llm_max_tokens ({s.llm_max_tokens}); its unfinished last sentence was left out" if truncated else None
        notice = _joined(note, cut_note)
        if evidence is None:
            yield self._raw(question, reply, blocks, timings, started, error, notice, truncated)
            return
        claims = verify(reply, evidence, self.embedder, self.template.system_text(len(blocks)))
        text = render(claims)
        if not text and error:
            # the server went away before anything checkable arrived: the notes' own sentences, and why
            yield self._extractive(question, evidence, timings, started, claims=claims, notice=notice, error=error)
            return
        if not text:
            if evidence.score < s.abstain_unless_supported_below:
                yield self._abstained(question, evidence, timings, started, claims=claims, notice=notice)
            else:
                fallback = "nothing the model wrote could be checked against your notes; these are the notes' own sentences"
                yield self._extractive(question, evidence, timings, started, claims=claims, notice=_joined(notice, fallback))
            return
        checked = [c for c in claims if c.outcome != "degenerate"]
        kept = sum(c.supported for c in checked)
        if kept < s.verified_min_supported * len(checked):
            distrust = f"only {kept} of the {len(checked)} sentences the model wrote {'was' if kept == 1 else 'were'} found in your notes; these are the notes' own sentences"
            yield self._extractive(question, evidence, timings, started, claims=claims, notice=_joined(notice, distrust))
            return
        cited = list(dict.fromkeys(c.block for c in claims if c.supported))
        yield self._from_evidence(question, evidence, timings, started, "generated", text, cited, claims=claims, error=error, notice=notice, truncated=truncated)

    @staticmethod
    def _numbered(evidence: Evidence) -> list:
        """The evidence blocks as [1..n], then the retrieved passages no sentence was taken from."""
        given = {b.chunk_id for b in evidence.blocks}
        return [*evidence.blocks, *(h for h in evidence.hits if h.chunk_id not in given)]

    def _raw(self, question, reply, blocks, timings, started, error, notice, truncated) -> Answer:
        """Whole passages in, the model's text out with only its citation numbers checked."""
        text, cited, invalid = check_citations(reply, len(blocks))
        attributed: list[int] = []
        if self.settings.citation_attribution:
            text, attributed = attribute(text, blocks)
        timings["total"] = time.perf_counter() - started
        return Answer(
            question=question,
            text=text,
            sources=sources_for(blocks, cited + [n for n in attributed if n not in cited]),
            timings=timings,
            invalid_citations=invalid,
            attributed_citations=attributed,
            error=error,
            notice=notice,
            truncated=truncated,
        )

    def _from_evidence(self, question, evidence: Evidence, timings, started, mode, text, cited, **fields) -> Answer:
        """An answer made from the evidence: generated (verified), extractive or abstained."""
        timings["total"] = time.perf_counter() - started
        return Answer(
            question=question,
            text=text,
            # an abstention cites nothing: its sources are where the notes come closest, as retrieved
            sources=sources_for(evidence.hits if mode == "abstained" else self._numbered(evidence), cited),
            timings=timings,
            llm_used=mode == "generated",
            mode=mode,
            coverage=evidence.score,
            **fields,
        )

    def _extractive(self, question, evidence: Evidence, timings, started, **fields) -> Answer:
        return self._from_evidence(question, evidence, timings, started, "extractive", *extractive_text(evidence), **fields)

    def _abstained(self, question, evidence: Evidence, timings, started, **fields) -> Answer:
        return self._from_evidence(question, evidence, timings, started, "abstained", related_text(evidence), [], **fields)

    def _passages_only(self, question: str, hits: list[Hit], evidence: Evidence | None, reason: str, timings: dict, started: float) -> Answer:
        """No LLM could be reached: the notes' own sentences (or, in raw mode, the best passages)."""
        if evidence is not None:
            return self._extractive(question, evidence, timings, started, error=reason)
        lines = [f"[{n}] {h.heading}: {excerpt(h.text, 400)}" for n, h in enumerate(hits, 1)]
        return Answer(
            question=question,
            text="\n".join(lines) if lines else "Nothing in your notes matches this question.",
            sources=sources_for(hits, []),
            timings={**timings, "total": timings["retrieve"]},
            error=reason,
            llm_used=False,
        )

    def stream(self, question: str, **kwargs) -> Iterator[str | Answer]:
        return self.stream_chat([{"role": "user", "content": question}], **kwargs)

    def chat(self, messages: list[dict], **kwargs) -> Answer:
        """A reply to the last user turn; earlier turns give the follow-up its meaning."""
        *_, answer = self.stream_chat(messages, **kwargs)
        return answer

    def ask(self, question: str, **kwargs) -> Answer:
        return self.chat([{"role": "user", "content": question}], **kwargs)

    def judge_client(self) -> LLMClient | None:
        """A capable model that grades (evaluation, interviews), when one is configured."""
        s = self.settings
        return LLMClient(s.judge_base_url, s.judge_model or "", s.llm_api_key, s.llm_timeout) if s.judge_base_url else None

    # ---- mock interviews -----------------------------------------------------------------------
    def interview(self, topic: str | None = None, n: int = 5, resume: str | None = None, **options) -> "InterviewSession":
        """A mock interview over the notes, or the saved session `resume` names. Options: mode
        ("concepts" | "company"), difficulty ("easy" | "medium" | "hard"), phrasing ("auto": the LLM if
        one is up; "llm": start it if needed; "template"), seed."""
        from rag.interview.session import InterviewSession

        self.ensure_index()
        if resume:
            return InterviewSession.load(self, resume)
        return InterviewSession.start(self, topic=topic, n=n, **options)

    def export_anki(self, path: str | Path, topic: str | None = None) -> "AnkiExport":
        """The interview's concepts (of `topic`, or all) as an Anki deck; re-exporting updates the cards."""
        from rag.interview.anki import export_deck
        from rag.interview.concepts import concepts_from_chunks

        self.ensure_index()
        return export_deck(concepts_from_chunks(self.index.chunks), Path(path), topic)

    # ---- the note files themselves ---------------------------------------------------------------
    def list_notes(self) -> list[dict]:
        """Every note the ingest reads, with its size and how many chunks the index holds of it."""
        from rag.note_files import note_files

        indexed = self.status().get("per_file", {})
        return [{"source": name, "bytes": path.stat().st_size, "chunks": indexed.get(name, 0)} for name, path in note_files(self.notes_dir).items()]

    def read_note(self, path: str, heading: str | None = None) -> "NoteText":
        """A note's text, or one heading's section of it; only inside the notes folder (NoteRefused)."""
        from rag.note_files import read_note

        return read_note(self.notes_dir, path, heading)

    # ---- evaluation ----------------------------------------------------------------------------
    def evaluate(
        self,
        kind: str = "retrieval",
        configs: list[str] | None = None,
        dataset: Path | None = None,
        split: str = "all",
        chunk_sweep: list[int] = (),
        limit: int = 0,
        progress=None,
        answer_configs: list[str] | None = None,
    ):
        """`retrieval`: this configuration beside the baselines (a RetrievalReport); `answers`: answers
        made each way (`eval.answers.CONFIGURATIONS`: verified, extractive, raw, no-retrieval), an
        AnswerSummary list; `all`: both, as a dict."""
        from eval.answers import CONFIGURATIONS, evaluate_answers, llm_judge
        from eval.dataset import load_questions
        from eval.report import CONFIGS, run_retrieval_eval

        results = {}
        if kind in ("retrieval", "all"):
            results["retrieval"] = run_retrieval_eval(self, list(configs or CONFIGS), list(chunk_sweep), dataset, split, progress=progress)
        if kind in ("answers", "all"):
            questions = load_questions(dataset, split=split)
            if limit:
                answerable = [q for q in questions if q.answerable][:limit]
                questions = answerable + [q for q in questions if not q.answerable][: max(1, limit // 3)]
            client = self.judge_client()
            judge = llm_judge(client) if client else None
            self.ensure_llm()
            results["answers"] = evaluate_answers(self, questions, judge, progress, answer_configs or CONFIGURATIONS)
        if kind == "abstention":
            from eval.abstention import HELD_OUT, TUNING, curve, scores

            everything = load_questions(dataset)
            results["abstention"] = [
                curve(name, scores(self, [q for q in everything if q.split in splits], progress))
                for name, splits in (("tuning (dev + test)", TUNING), ("held out (holdout)", HELD_OUT))
            ]
        if not results:
            raise ValueError(f"unknown evaluation {kind!r}; choose retrieval, answers, abstention or all")
        return results if kind == "all" else results[kind]

    def status(self) -> dict:
        manifest = read_manifest(self.index_dir)
        info = {
            "notes_dir": str(self.notes_dir),
            "index_dir": str(self.index_dir),
            "embedding_model": self.settings.embedding_model,
            "llm_model": self.settings.llm_model,
            "llm_base_url": self.settings.llm_base_url,
        }
        if manifest is None:
            return {**info, "indexed": False}
        return {
            **info,
            "indexed": True,
            "files": len(manifest.files),
            "chunks": sum(len(f.chunks) for f in manifest.files.values()),
            "index_embedding_model": manifest.embedding_model,
            "index_type": manifest.index_type,
            "last_ingest": manifest.created,
            "per_file": {k: len(v.chunks) for k, v in sorted(manifest.files.items())},
        }
