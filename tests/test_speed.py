"""The torch-free question path: the ONNX embedder gives sentence-transformers' vectors, token counts need
only `tokenizers`, and the CLI's quick commands import only what they use. Timings live in bench/, not here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from helpers import NOTES, REPO

from ingest.embed import PACKAGED_EMBEDDING, Embedder, onnx_graph, resolve_model
from ingest.store import load_index
from rag.answer.prompt import chat_template_has_system_role
from rag.llm.tokenizer import ModelTokenizer

QUESTIONS = [
    "What is dropout?",
    "  How does batch normalization help training?  ",
    "Was ist Überanpassung? ∑ x ≥ 0",
]


@pytest.mark.integration  # loads torch and embeds every chunk twice
def test_onnx_vectors_match_sentence_transformers_on_every_shipped_chunk(shipped_index, tmp_path):
    """Cosine >= 0.999 on every chunk (and on questions, and on a text past the 256-token cut), with a
    graph exported from scratch into an empty cache, so indexes embedded by either backend stay valid."""
    onnx = Embedder(cache_dir=tmp_path)
    reference = Embedder(resolve_model(PACKAGED_EMBEDDING))  # a path, not the packaged name: sentence-transformers
    assert (onnx.backend, reference.backend) == ("onnx", "sentence-transformers")
    index = load_index(shipped_index)
    texts = [c.embed_text for c in index.chunks] + QUESTIONS + [" ".join(c.text for c in index.chunks[:20])]
    ours, theirs = onnx.embed(texts), reference.embed(texts)
    assert onnx_graph(tmp_path).is_file()
    assert ours.shape == theirs.shape == (len(texts), 384)
    cosine = (ours * theirs).sum(axis=1)
    assert cosine.min() >= 0.999, [texts[i][:60] for i in np.flatnonzero(cosine < 0.999)]
    # the shipped index holds the default backend's vectors: they agree with sentence-transformers too
    stored = index.vectors()
    assert ((stored * theirs[: len(stored)]).sum(axis=1)).min() >= 0.999


def test_token_counts_need_only_tokenizers(shipped_index):
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(resolve_model(PACKAGED_EMBEDDING))
    count = Embedder().count_tokens
    texts = [c.embed_text for c in load_index(shipped_index).chunks[:200]] + ["overfitting " * 600]
    assert [count(t) for t in texts] == [len(hf(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert count("overfitting " * 600) > 600  # no truncation at the model's window


@pytest.fixture(scope="module")
def llm_folder():
    from rag.llm.prepare import prepare_packaged_model
    from rag.settings import Settings

    return prepare_packaged_model(Settings().cache_dir)


def test_llm_tokenizer_counts_and_renders_like_transformers(llm_folder):
    from transformers import AutoTokenizer

    ours, hf = ModelTokenizer.load(llm_folder), AutoTokenizer.from_pretrained(llm_folder)
    for text in [
        "What is dropout?",
        "<notes>\n[1] ml.md > Dropout\nDropout zeroes activations.\n</notes>",
        "Überanpassung ∑",
    ]:
        assert ours.encode(text) == hf.encode(text, add_special_tokens=False)
    for messages in (
        [{"role": "system", "content": "S"}, {"role": "user", "content": "hi"}],
        [{"role": "user", "content": "hi"}],
    ):
        assert ours.apply_chat_template(messages) == hf.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
    assert chat_template_has_system_role(ours)
    assert ModelTokenizer.load(llm_folder.parent / "missing") is None


def test_a_template_without_system_role_is_detected_without_transformers(llm_folder, tmp_path):
    """Mistral's template raises on a system message; read from tokenizer_config.json as transformers saves it."""
    (tmp_path / "tokenizer.json").write_bytes((llm_folder / "tokenizer.json").read_bytes())
    template = (
        "{{ bos_token }}{% for message in messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
        "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
    )
    config = {"chat_template": template, "bos_token": {"content": "<s>"}, "eos_token": "</s>"}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = ModelTokenizer.load(tmp_path)
    assert not chat_template_has_system_role(tokenizer)
    assert tokenizer.apply_chat_template([{"role": "user", "content": "q"}]) == "<s>[INST] q [/INST]"


HEAVY = ["torch", "transformers", "sentence_transformers", "openai", "httpx", "gradio", "matplotlib", "vllm"]
WATCH = HEAVY + ["numpy", "pydantic_settings", "faiss", "bm25s", "onnxruntime", "numba"]
# the real CLI in a new process, then which of WATCH it imported
WRAPPER = f"""
import json, sys
from rag.frontends.cli import app
try:
    app(sys.argv[1:], prog_name="rag")
except SystemExit:
    pass
print("MODULES " + json.dumps(sorted(m for m in {WATCH!r} if m in sys.modules)), file=sys.stderr)
"""


def _run_cli(*args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    marker = [line for line in proc.stderr.splitlines() if line.startswith("MODULES ")]
    assert marker, proc.stderr
    return proc, json.loads(marker[-1].removeprefix("MODULES "))


@pytest.mark.integration  # new processes
def test_rag_retrieve_in_a_new_process_imports_no_torch(shipped_index):
    proc, loaded = _run_cli(
        "retrieve", "What is dropout?", "--index", str(shipped_index), "--notes", str(NOTES), "--json"
    )
    hits = json.loads(proc.stdout)
    assert len(hits) == 5 and any("dropout" in h["text"].lower() for h in hits[:2])
    assert "onnxruntime" in loaded and "faiss" in loaded and "bm25s" in loaded  # it did the real search
    assert not set(loaded) & set(HEAVY + ["numba"]), loaded


@pytest.mark.integration  # new processes
def test_help_and_status_import_only_what_they_use(shipped_index):
    proc, loaded = _run_cli("--help")
    assert "retrieve" in proc.stdout
    assert loaded == [], loaded
    proc, loaded = _run_cli("status", "--index", str(shipped_index), "--notes", str(NOTES), "--json")
    assert json.loads(proc.stdout)["chunks"] == len(load_index(shipped_index).chunks)
    # it asks the endpoint whether a server answers (httpx), and touches no model or index search code
    assert not set(loaded) & (set(HEAVY + ["faiss", "bm25s", "onnxruntime"]) - {"httpx"}), loaded


@pytest.mark.integration  # a new process
def test_browser_app_loads_the_models_at_start(shipped_index):
    """The first question must not pay for loading: the app loads the index and the embedder in the
    background as it starts, and the page's loading line goes once they are ready."""
    from rag import Assistant
    from ui.app import LOADING, App

    assistant = Assistant(notes_dir=NOTES, index_dir=shipped_index)
    app = App(assistant)
    shown = [update["value"] for update in app.loading()]
    assert app._ready.is_set() and app._load_error == ""
    assert assistant._index is not None  # loaded without a question being asked
    assert shown[-1] == "" and (len(shown) == 1 or shown[0] == LOADING)
