"""One typed settings object. Precedence: defaults < rag.toml < environment (RAG_*) < arguments.

`rag.toml` is read from the working directory, or from the file named by RAG_CONFIG. Profiles are
just other files: `RAG_CONFIG=profiles/gpu.toml rag ask ...`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from ingest.chunking import CHUNK_TOKENS, OVERLAP_TOKENS
from ingest.embed import default_cache_dir
from rag.errors import UnsafeBinding
from rag.types import AnswerMode

# the addresses a server may bind without a login or key: only this machine can reach them
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def check_binding(host: str, secret: str | None, exposes: str, fix: str) -> None:
    """Off loopback anyone on the network could read the notes: a server there needs a login or key."""
    if host not in LOOPBACK and not secret:
        raise UnsafeBinding(f"binding to {host} would {exposes}; {fix}, or bind to 127.0.0.1")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    # where things live
    notes_dir: Path = Path("notes")
    index_dir: Path | None = Field(None, description="default: one folder per notes folder under cache_dir/indexes")
    cache_dir: Path = Field(default_factory=default_cache_dir)

    # ingestion
    embedding_model: str = "all-MiniLM-L6-v2"
    embedding_batch_size: int = 32
    chunk_tokens: int = CHUNK_TOKENS
    overlap_tokens: int = OVERLAP_TOKENS
    index_type: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="auto: flat up to hnsw_above chunks, HNSW beyond"
    )
    hnsw_above: int = 50_000  # docs/benchmarks.md, "Retrieval at scale"
    auto_ingest: bool = Field(
        True, description="retrieve, ask, chat, interview and the UI bring a stale index up to date first"
    )
    ocr: bool = Field(True, description="read the text of images notes embed and of PDF pages (Tesseract OCR)")

    # retrieval
    top_k: int = 5
    candidates: int = 50
    # weighted fusion at 0.7/0.3 measured best on the dev questions (README, "Retrieval quality")
    fusion: Literal["weighted", "rrf", "dense", "bm25"] = "weighted"
    rrf_k: int = 60
    dense_weight: float = 0.7
    bm25_weight: float = 0.3
    # follow the wikilinks of the top passages to the notes they name (rag/answer/retrieve.py); the shipped
    # notes link to no note of theirs, so the held-out questions cannot show it helping: opt in (README)
    follow_links: bool = Field(False, description="add the closest passage of each note the top passages link to")

    # the LLM, spoken to over vLLM's OpenAI-compatible API
    llm_model: str = Field("smollm2-135m-instruct", description="the packaged model, or any HF model folder or name")
    llm_base_url: str = "http://127.0.0.1:8000/v1"
    llm_api_key: str = "EMPTY"
    llm_temperature: float = 0.0
    llm_max_tokens: int = 320
    llm_context_window: int = 4096
    llm_system_role: Literal["auto", "yes", "no"] = "auto"
    # Small models loop. vLLM's repetition_penalty also punishes words of the prompt, which keeps the
    # model from reusing the notes' wording; the frequency penalty counts only what it wrote itself.
    llm_frequency_penalty: float = 0.5
    llm_repetition_penalty: float = 1.0
    # a new paragraph opening with "[n]" is a small model starting to recite the context blocks
    llm_stop: list[str] = Field(default_factory=lambda: ["\n\n[", "\nQuestion:", "</notes>"])
    citation_attribution: bool = Field(
        True, description="raw mode: cite uncited sentences by word overlap with a block"
    )
    # answers (README, "Answers you can trust")
    answer_mode: AnswerMode = Field(
        "verified",
        description="verified: evidence sentences to the LLM, every sentence it writes checked; extractive: "
        "the evidence itself, no LLM; raw: whole passages, unchecked; closed-book: the LLM alone, no notes",
    )
    evidence_units: int = Field(8, description="sentences of the retrieved passages given to the LLM as evidence")
    # Below abstain_below the notes do not cover the question: no LLM call. Up to
    # abstain_unless_supported_below the LLM answers, but an answer with no supported sentence abstains
    # instead of falling back to quoting the evidence. Chosen on the tuning questions (README).
    abstain_below: float = 0.42
    abstain_unless_supported_below: float = 0.5
    # A reply most of whose sentences are not in the notes is not trusted for the rest either: below this
    # share of supported sentences, the notes' own sentences are given instead (README)
    verified_min_supported: float = 0.6
    # The reader (rag/answer/reader.py): a cross-encoder trained here to tell the sentence that states the
    # answer, added to the cosine-and-overlap score. It ranks better on its validation notes but worse first
    # sentences on the held-out study set (P@1 0.58 vs 0.62, training/results/reader_eval.md): opt in
    reader: bool = Field(False, description="add the shipped reader's score to evidence ranking")
    # The support head (rag/answer/support.py) as a second test of each generated sentence. On answers a
    # capable model writes it dropped no wrong sentence the rule kept, and cost faithful ones (eval/capable.py,
    # README "Answers you can trust"): opt in
    support_check: bool = Field(False, description="a sentence also needs the support head to find it in its block")
    llm_timeout: float = 120.0
    llm_autostart: bool = True
    prompt_template: Path | None = None
    history: bool = Field(
        True, description="keep every question and its answer in <index_dir>/history.sqlite (`rag history`)"
    )

    # evaluation: a capable judge served over the same protocol; unset, documented proxies are used
    judge_base_url: str | None = None
    judge_model: str | None = None

    # mock interviews
    interview_dir: Path | None = Field(None, description="sessions and Leitner boxes; default: beside the index")
    interview_pass_score: float = Field(5.0, description="a score from here up moves a concept up a Leitner box")
    interview_company_notes: list[str] = Field(
        default_factory=lambda: ["*interview*", "*prep*"], description="notes company mode draws from"
    )

    # `rag ui`
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_auth: str | None = Field(None, description="user:password; required to bind anywhere but loopback")
    ui_upload_max_mb: int = 20
    ui_concurrency: int = Field(4, description="questions answered at once; more wait in the queue")
    ui_watch: bool = Field(True, description="`rag ui` re-ingests as notes change (`rag watch` in the background)")

    # `rag api` (OpenAI-compatible endpoint) and `rag mcp --http`
    api_host: str = "127.0.0.1"
    api_port: int = 8001
    api_key: str | None = Field(
        None, description="Bearer key `rag api` requires; required to bind anywhere but loopback"
    )
    mcp_port: int = Field(8002, description="`rag mcp --http` port; it binds 127.0.0.1 only")

    # `rag serve`
    server_host: str = "127.0.0.1"
    server_port: int = 8000
    server_device: Literal["auto", "cpu", "cuda"] = "auto"
    server_kv_cache_gb: int = 1
    # how the CPU server holds the weights; auto: bfloat16 when the CPU has bf16 instructions (AVX-512 BF16
    # or AMX), float32 otherwise; int8 (W8A8, the packaged model only) is fastest (docs/benchmarks.md)
    server_weights: Literal["auto", "float32", "bfloat16", "int8"] = "auto"
    server_gpu_memory_utilization: float = 0.85
    server_start_timeout: float = 600.0
    server_extra_args: list[str] = Field(default_factory=list)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("RAG_CONFIG", "rag.toml"))
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file)

    @property
    def resolved_index_dir(self) -> Path:
        if self.index_dir is not None:
            return self.index_dir.expanduser()
        notes = self.notes_dir.expanduser().resolve()
        tag = hashlib.sha1(str(notes).encode()).hexdigest()[:8]
        return self.cache_dir.expanduser() / "indexes" / f"{notes.name}-{tag}"
