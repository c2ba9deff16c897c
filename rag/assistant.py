"""The public Python API. The CLI, the UI and the evaluation all go through `Assistant`."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ingest.embed import Embedder
from ingest.freshness import stale_reason
from ingest.pipeline import IngestOptions, IngestStats, Progress, ingest_notes
from ingest.store import IndexData, Manifest, current_generation, load_index, read_manifest
from rag.answer import path
from rag.answer.evidence import Evidence, idf, select_evidence
from rag.answer.followup import plain_messages
from rag.answer.prompt import PromptTemplate, chat_template_has_system_role
from rag.answer.reader import Reader
from rag.answer.retrieve import Retriever, resolve_sources, resolve_tags
from rag.answer.support import SupportModel
from rag.errors import BadRequest, IndexBusy, IndexCorrupt, IndexWriteError, LLMUnavailable, NoNotes
from rag.llm import vllm_server as server
from rag.llm.client import LLMClient, TokenCounter
from rag.settings import Settings
from rag.types import Answer, AnswerMode, AnswerStream, Hit

# a question arriving while another process builds the very first index waits this long for it
FIRST_INDEX_WAIT = 600.0
# passages a question may ask for: past the candidate pool (50) more would only add the least related
MAX_K = 50

if TYPE_CHECKING:
    from rag.interview.anki import AnkiExport
    from rag.interview.grading import Feedback
    from rag.interview.progress import Progress
    from rag.interview.session import InterviewSession
    from rag.library.history import History, HistoryEntry
    from rag.library.note_files import NoteText
    from rag.library.related import NoteGraph, Related
    from rag.library.scope import Scopes
    from rag.llm.vllm_server import Leftovers, ServerState


class Assistant:
    def __init__(
        self,
        notes_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        settings: Settings | None = None,
        **overrides,
    ):
        given = {
            k: v for k, v in {"notes_dir": notes_dir, "index_dir": index_dir, **overrides}.items() if v is not None
        }
        # through the constructor, not model_copy: overrides are validated ("notes" becomes a Path)
        self.settings = Settings(**{**settings.model_dump(), **given}) if settings else Settings(**given)
        self._index: IndexData | None = None
        self._counter: TokenCounter | None = None
        self._idf: tuple[Path, dict[str, float]] | None = None  # per index generation
        self._syncing = threading.Lock()  # one automatic ingest at a time from this object's threads
        self._manifest_seen: tuple = (None, None)  # ((generation, manifest mtime), Manifest)
        self._graph: NoteGraph | None = None  # links and note vectors of one index generation (`related`)

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
            ocr=s.ocr,
        )

    def ingest(
        self, rebuild: bool = False, progress: Progress | None = None, lock_wait_seconds: float = 0.0
    ) -> IngestStats:
        """Bring the index up to date with the notes folder; only new or changed notes are embedded."""
        if self.index_dir.exists() and not self.index_dir.is_dir():
            raise IndexWriteError(
                f"{self.index_dir}: is a file, not a folder; give the index a folder of its own (--index DIR)"
            )
        stats = ingest_notes(
            self.notes_dir, self.index_dir, self.embedder, self._ingest_options(rebuild, lock_wait_seconds), progress
        )
        if stats.changed:
            self._index = None
        return stats

    def _no_notes(self, skipped: list | None = None) -> NoNotes:
        where = "give your notes folder (rag ingest PATH, --notes PATH, or notes_dir)"
        if not self.notes_dir.is_dir():
            return NoNotes(f"{self.notes_dir}: notes folder not found; {where}")
        read = f"; skipped {'; '.join(map(str, skipped[:3]))}" if skipped else ""
        return NoNotes(
            f"{self.notes_dir}: no notes in it (no .md, .txt or .pdf file that could be read{read}); add "
            f"notes there, or {where}"
        )

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
        process) the generation in place answers instead: only a missing index is waited for. NoNotes
        when the notes folder is missing and there is no index, or it holds no note that could be read."""
        first = current_generation(self.index_dir) is None
        if first and not self.notes_dir.is_dir():
            raise self._no_notes()  # not "no index yet": `rag ingest` could only say the same
        if not self.settings.auto_ingest or self.index_stale() is None:
            return None
        if not self._syncing.acquire(blocking=first):
            return None
        try:
            stats = self.ingest(progress=progress, lock_wait_seconds=FIRST_INDEX_WAIT if first else 0.0)
        except IndexBusy:
            if first:
                raise
            return None
        finally:
            self._syncing.release()
        if not stats.files:
            raise self._no_notes(stats.skipped)  # an index of nothing answers nothing
        return stats

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
        links = self._note_graph().passage_links if self.settings.follow_links else None
        return Retriever.from_settings(self.index, self.embedder, self.settings, links)

    def retrieve(
        self, question: str, k: int | None = None, sources: list[str] | None = None, tags: list[str] | None = None
    ) -> list[Hit]:
        """The `k` passages that best match `question`. `sources` keeps notes by name (attention.md),
        path in the notes folder (deep/attention.md) or folder (deep); `tags` keeps notes with any of
        those tags. An empty question, k outside 1..MAX_K, or a source or tag that names nothing is a
        BadRequest (the closest names in its message)."""
        k = self._checked(question, k)
        self.ensure_index()
        data = self.index
        if not data.manifest.files:
            raise self._no_notes()
        scope = {"sources": resolve_sources(data, sources), "tags": resolve_tags(data, tags)}
        return self.retriever.search(question, k, **scope)

    def _checked(self, question: str, k: int | None) -> int:
        """k itself, or the top_k setting; what every front end would otherwise have to check."""
        if not question.strip():
            raise BadRequest("ask a question: the text is empty")
        k = self.settings.top_k if k is None else k
        if not 1 <= k <= MAX_K:
            raise BadRequest(f"k = {k} passages is out of range; ask for 1 to {MAX_K}")
        return k

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
            # an endpoint on another port is started there, or `rag serve` would start one nobody asks
            port = urlsplit(self.settings.llm_base_url).port
            serve = f"rag serve --port {port}" if port and port != self.settings.server_port else "rag serve"
            raise LLMUnavailable(f"no LLM server answers at {self.settings.llm_base_url}; start one with `{serve}`")
        state = self.start_server(console)
        return (
            f"started the local vLLM server ({state.model}, pid {state.pid}, log {state.log}); it stays up "
            "for the next question — `rag serve --stop` ends it"
        )

    def term_idf(self) -> dict[str, float]:
        """Inverse document frequency of each stemmed term over the indexed chunks (per index generation)."""
        data = self.index
        if self._idf is None or self._idf[0] != data.path:
            self._idf = (data.path, idf([f"{c.heading}\n{c.text}" for c in data.chunks]))
        return self._idf[1]

    # ---- the local vLLM server (`rag serve`) ------------------------------------------------------
    def _server_settings(self, any_port: bool) -> Settings:
        # any_port: no port was given; the server is wherever its record says (ServerError if several)
        return server.locate(self.settings) if any_port else self.settings

    def server_status(self, any_port: bool = False) -> tuple[ServerState | None, bool]:
        """What `rag serve` started (None: nothing), and whether an LLM answers: at that server, or at
        llm_base_url when the server was started by hand, by another checkout or on another machine."""
        running = server.read_state(self._server_settings(any_port))
        return running, server.healthy(running.host, running.port) if running else self.llm.is_up()

    def server_leftovers(self, any_port: bool = False) -> Leftovers | None:
        """What a server `rag serve` started left running when its main process died (vLLM's engine
        and workers, ~3 GB); `stop_server` ends it, and so does the next start."""
        return server.leftovers(self._server_settings(any_port))

    def start_server(self, console=None) -> ServerState:
        """Start vLLM for the configured model and wait until it answers; it stays up (ServerError)."""
        return server.start(self.settings, console=console)

    def stop_server(self, any_port: bool = False) -> ServerState | None:
        """Stop the server `rag serve` started, its whole process group, and what a dead one left
        running; None when its main process was not running."""
        return server.stop(self._server_settings(any_port))

    def prepare_models(self, console=None) -> list[str]:
        """Prepare the packaged models once: SmolLM2's GGUF as a folder vLLM can load (and its INT8 copy
        when the server will run that), MiniLM as ONNX. The folders made (ModelPrepError, ServerError)."""
        from ingest.embed import prepare_onnx

        made = [server.model_path(self.settings, console)]
        if self.embedder.backend == "onnx":
            made.append(str(prepare_onnx(self.settings.cache_dir, console)))
        return made

    @cached_property
    def reader(self) -> Reader | None:
        """The reader model, when it is shipped and the `reader` setting is on."""
        return Reader.load() if self.settings.reader else None

    @cached_property
    def support_model(self) -> SupportModel | None:
        """The support head the verifier also asks, when it is shipped and the `support_check` setting is on."""
        return SupportModel.load() if self.settings.support_check else None

    def evidence(self, question: str, hits: list[Hit]) -> Evidence:
        """The sentences of `hits` that answer `question`, and how well the notes cover it."""
        s = self.settings
        return select_evidence(question, hits, self.embedder, self.term_idf(), s.evidence_units, self.reader)

    def stream_chat(
        self,
        messages: list[dict],
        k: int | None = None,
        sources: list[str] | None = None,
        tags: list[str] | None = None,
        autostart: bool | None = None,
        console=None,
        mode: AnswerMode | None = None,
        log: bool | None = None,
    ) -> AnswerStream:
        """A reply to the last user turn (earlier turns give a follow-up its meaning), as it is written;
        `.answer` is the finished `Answer`. `mode` overrides the `answer_mode` setting; `log` the
        `history` setting (the finished answer is kept in the history). The answer path itself is
        `rag.answer.path.answer`."""
        # checked here, not when the stream is first read: a front end gets the error before it streams
        question = plain_messages(messages[-1:])[0]["content"] if messages else ""
        self._checked(question, k)
        pieces = path.answer(self, messages, k, sources, tags, autostart, console, mode)
        keep = self.settings.history if log is None else log
        return AnswerStream(self._logged(pieces, question, mode) if keep else pieces)

    def _logged(self, pieces, question: str, mode: AnswerMode | None):
        """The answer path's pieces passed on as they come; the finished answer then goes into the
        history (an answer cancelled half-way never finishes, and is not kept)."""
        import sqlite3

        answer = yield from pieces
        try:
            self._history().add(answer, question, mode or self.settings.answer_mode)
        except sqlite3.Error as e:  # a locked or read-only history costs the entry, never the answer
            answer.notice = "; ".join(filter(None, [answer.notice, f"not kept in the history: {e}"]))
        return answer

    def stream(self, question: str, **kwargs) -> AnswerStream:
        return self.stream_chat([{"role": "user", "content": question}], **kwargs)

    def chat(self, messages: list[dict], **kwargs) -> Answer:
        """A reply to the last user turn; earlier turns give the follow-up its meaning."""
        return self.stream_chat(messages, **kwargs).answer

    def ask(self, question: str, **kwargs) -> Answer:
        return self.chat([{"role": "user", "content": question}], **kwargs)

    def judge_client(self) -> LLMClient | None:
        """A capable model that grades (evaluation, interviews), when one is configured."""
        s = self.settings
        return (
            LLMClient(s.judge_base_url, s.judge_model or "", s.llm_api_key, s.llm_timeout) if s.judge_base_url else None
        )

    # ---- mock interviews -----------------------------------------------------------------------
    def interview(
        self,
        topic: str | None = None,
        n: int = 5,
        resume: str | None = None,
        sources: list[str] | None = None,
        tags: list[str] | None = None,
        **options,
    ) -> InterviewSession:
        """A mock interview over the notes, or the saved session `resume` names. `sources` and `tags`
        limit it as they limit `retrieve`. Options: mode ("concepts" | "company"), difficulty ("easy" |
        "medium" | "hard"), phrasing ("auto": the LLM if one is up; "llm": start it if needed;
        "template"), seed."""
        from rag.interview.session import InterviewSession
        from rag.library.scope import start_in_scope

        self.ensure_index()
        if resume:
            return InterviewSession.load(self, resume)
        if sources or tags:
            return start_in_scope(self, sources, tags, topic=topic, n=n, **options)
        return InterviewSession.start(self, topic=topic, n=n, **options)

    def grade(self, question: str, answer: str, source: str | None = None, heading: str | None = None) -> Feedback:
        """Grade an answer to any question against the notes, as an interview answer is graded: against
        the section under `heading` (in the note `source`, if given), or else the section retrieval finds
        for the question (the feedback's first notice names it). An empty question or answer, or a
        source or heading that names nothing, is a BadRequest."""
        from rag.interview.check import grade_free

        self.ensure_index()
        return grade_free(self, question, answer, source, heading)

    def export_anki(self, path: str | Path, topic: str | None = None) -> AnkiExport:
        """The interview's concepts (of `topic`, or all) as an Anki deck; re-exporting updates the cards."""
        from rag.interview.anki import export_deck
        from rag.interview.concepts import concepts_from_chunks

        self.ensure_index()
        return export_deck(concepts_from_chunks(self.index.chunks), Path(path), topic)

    # ---- the note files themselves ---------------------------------------------------------------
    def list_notes(self) -> list[dict]:
        """Every note the ingest reads, with its size and how many chunks the index holds of it."""
        from rag.library.note_files import note_files

        indexed = self.status().get("per_file", {})
        return [
            {"source": name, "bytes": path.stat().st_size, "chunks": indexed.get(name, 0)}
            for name, path in note_files(self.notes_dir).items()
        ]

    def read_note(self, path: str, heading: str | None = None) -> NoteText:
        """A note's text, or one heading's section of it; only inside the notes folder (NoteRefused)."""
        from rag.library.note_files import read_note

        return read_note(self.notes_dir, path, heading)

    # ---- scope and related notes ------------------------------------------------------------------
    def scopes(self) -> Scopes:
        """The notes, folders and tags a question or an interview can be limited to (`sources`, `tags`)."""
        from rag.library.scope import scopes

        self.ensure_index()
        return scopes(self.index)

    def related(self, note: str, k: int = 5) -> Related:
        """What `note` (named as `sources` are) links to and embeds, what links to it, and the `k` other
        notes closest to it in meaning, each with its reason."""
        from rag.library.related import one_note

        if not 1 <= k <= MAX_K:
            raise BadRequest(f"k = {k} notes is out of range; ask for 1 to {MAX_K}")
        self.ensure_index()
        return self._note_graph().related(one_note(self.index, note), k)

    def _note_graph(self) -> NoteGraph:
        """The notes' links, backlinks and vectors, read once per index generation."""
        from rag.library.related import NoteGraph

        data = self.index
        if self._graph is None or self._graph.data.path != data.path:
            self._graph = NoteGraph(data, self.index_dir)
        return self._graph

    # ---- what was asked and practised ----------------------------------------------------------------
    def _history(self) -> History:
        from rag.library.history import FILE_NAME, History

        return History(self.index_dir / FILE_NAME)

    def history(self, search: str | None = None, limit: int = 20, abstained: bool | None = None) -> list[HistoryEntry]:
        """The questions asked (newest first), with their answers, modes and sources; with `search`,
        those whose question or answer holds every word of it; with `abstained=True`, only those the
        notes could not answer (False: only those they could). Kept unless the `history` setting is off."""
        if not 1 <= limit <= 10_000:
            raise BadRequest(f"limit = {limit} entries is out of range; ask for 1 to 10000")
        return self._history().search(search, limit, abstained)

    def clear_history(self) -> int:
        """Delete the whole history; how many entries there were."""
        return self._history().clear()

    def progress(self) -> Progress:
        """Per-topic mastery from the interview sessions and Leitner boxes, the cards due today, scores
        over time, and what to study next (weak and never-drilled topics, questions the notes could not
        answer, points missed or contradicted in recent sessions)."""
        from rag.interview.progress import progress_of

        self.ensure_index()
        return progress_of(self)

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
