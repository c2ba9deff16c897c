"""vLLM CPU server options, one server at a time on the same prompts: dtype (fp32 / bf16), thread
binding, prefix caching, INT8 W8A8 weights (`server_weights`). For each: start-up, prefill (time to first token of the
verified-mode prompt), single-stream decode speed, and what the answers are worth on the answer
evaluation's automatic measures (`Assistant.ask`, verified mode, greedy): the gold quote's words in the
answer, the share of the model's sentences the verifier keeps, how often the model's own answer is used."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.answering import memory_bandwidth_gbs, timed_request
from eval.dataset import load_questions
from eval.labels import quote_recall
from rag import Assistant, Settings
from rag.llm import vllm_server as server

REPO = Path(__file__).resolve().parent.parent
IDLE_AFTER_REQUEST = 1.5  # vLLM's CPU worker busy-polls for about a second after each request


@dataclass
class Config:
    name: str
    weights: str  # the server_weights setting
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def configs() -> list[Config]:
    every_core = {"VLLM_CPU_OMP_THREADS_BIND": f"0-{(os.cpu_count() or 1) - 1}"}
    return [
        Config("fp32, all cores bound (before)", "float32", env=every_core),
        Config("bf16, all cores bound (now the default)", "bfloat16", env=every_core),
        Config("bf16, vLLM's own binding", "bfloat16", env={"VLLM_CPU_OMP_THREADS_BIND": "auto"}),
        Config("bf16, prefix caching off", "bfloat16", ["--no-enable-prefix-caching"], every_core),
        Config("INT8 W8A8, bf16 activations", "int8", env=every_core),
    ]


def _measure(base_url: str, model: str, prompts: list[list[dict]], decode_tokens: int) -> dict:
    from openai import AsyncOpenAI

    async def go():
        async with AsyncOpenAI(base_url=base_url, api_key="EMPTY", timeout=600) as client:
            await timed_request(client, model, [{"role": "user", "content": "Say hello."}], 8)
            prefill, decode = [], []
            for messages in prompts:
                time.sleep(IDLE_AFTER_REQUEST)
                first, _, _ = await timed_request(client, model, messages, 1)
                prefill.append(first)
            for messages in prompts[:3]:
                time.sleep(IDLE_AFTER_REQUEST)
                # exactly decode_tokens are generated (ignore_eos, min_tokens); after the first, the decode
                first, total, _ = await timed_request(client, model, messages, decode_tokens)
                decode.append((decode_tokens - 1) / (total - first))
            return prefill, decode

    prefill, decode = asyncio.run(go())
    return {"prefill_s": statistics.median(prefill), "prefill_all": prefill, "decode_tok_s": statistics.median(decode)}


def weight_bytes(model_path: str, dtype: str) -> int:
    """The weights' size in memory as served: int8 stays int8, floats take the served dtype."""
    from safetensors import safe_open

    size = 0
    for file in Path(model_path).glob("*.safetensors"):
        with safe_open(str(file), framework="pt") as f:
            for name in f.keys():
                part = f.get_slice(name)
                count = 1
                for d in part.get_shape():
                    count *= d
                size += count * (1 if part.get_dtype() == "I8" else 2 if dtype == "bfloat16" else 4)
    return size


def quality(answers: list, questions: list) -> dict:
    checked = [c for a in answers for c in a.claims if c.outcome != "degenerate"]
    return {
        "quote_recall": statistics.fmean(quote_recall(a.text, q.quote) >= 0.5 for a, q in zip(answers, questions)),
        "supported": sum(c.supported for c in checked) / len(checked) if checked else 0.0,
        "generated": statistics.fmean(a.mode == "generated" for a in answers),
    }


def interview_phrasing(assistant, seeds: tuple[int, ...] = (0, 1), n: int = 10) -> tuple[int, int]:
    """Mock-interview questions the model phrased validly (the rest fall back to templates), of all asked."""
    import tempfile

    phrased = asked = 0
    for seed in seeds:
        with tempfile.TemporaryDirectory() as tmp:
            coach = Assistant(
                notes_dir=assistant.notes_dir,
                index_dir=assistant.index_dir,
                settings=assistant.settings,
                interview_dir=tmp,
            )
            session = coach.interview(n=n, seed=seed, phrasing="llm")
            while (q := session.next_question()) is not None:
                phrased += q.phrased_by == "llm"
                asked += 1
                session.answer("")
    return phrased, asked


def run(questions: int = 20, decode_tokens: int = 128) -> dict:
    dev = [q for q in load_questions(split="dev") if q.answerable][:questions]
    asked = [q.question for q in dev]
    rows = []
    for config in configs():
        port = server.free_port()
        settings = Settings(
            server_port=port,
            llm_base_url=f"http://127.0.0.1:{port}/v1",
            llm_autostart=False,
            server_extra_args=config.args,
            server_weights=config.weights,
        )
        assistant = Assistant(notes_dir=REPO / "notes", settings=settings)
        assistant.ensure_index()
        prompts = []
        for q in asked:
            evidence = assistant.evidence(q, assistant.retrieve(q))
            prompts.append(assistant.template.messages(q, evidence.blocks, assistant.system_role()))
        saved = {k: os.environ.get(k) for k in config.env}
        os.environ.update(config.env)
        started = time.perf_counter()
        try:
            try:
                state = server.start(settings)
            except server.ServerError as e:
                rows.append(dict(name=config.name, error=str(e).splitlines()[-1]))
                print(f"{config.name}: {e}", flush=True)
                continue
            startup = time.perf_counter() - started
            measured = _measure(state.base_url, settings.llm_model, prompts, decode_tokens)
            answers = []
            for q in asked:
                time.sleep(IDLE_AFTER_REQUEST)
                answers.append(assistant.ask(q, mode="verified"))
            phrased = interview_phrasing(assistant)
        finally:
            server.stop(settings)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        weights = weight_bytes(state.model_path, "float32" if config.weights == "float32" else "bfloat16")
        prompt_tokens = statistics.median(
            assistant.count_llm_tokens(m[0]["content"] + m[-1]["content"]) for m in prompts
        )
        rows.append(
            dict(
                name=config.name,
                startup=startup,
                weights=weights,
                prompt_tokens=prompt_tokens,
                answers=[a.text for a in answers],
                phrased=phrased,
                **quality(answers, dev),
                **measured,
            )
        )
        print(f"{config.name}: {rows[-1]['prefill_s']:.3f} s prefill, {rows[-1]['decode_tok_s']:.1f} tok/s", flush=True)
    return {"questions": len(asked), "decode_tokens": decode_tokens, "bandwidth": memory_bandwidth_gbs(), "rows": rows}


def section(r: dict) -> str:
    base = r["rows"][0]
    lines = []
    for row in r["rows"]:
        if "error" in row:
            lines.append(f"| {row['name']} | did not start: {row['error']} | | | | | | | | | |")
            continue
        same = sum(a == b for a, b in zip(row["answers"], base["answers"]))
        bound = r["bandwidth"] * 1e9 / row["weights"]
        lines.append(
            f"| {row['name']} | {row['startup']:.0f} s | {row['weights'] / 1e6:.0f} MB | {row['prefill_s']:.3f} "
            f"s | {row['decode_tok_s']:.1f} "
            f"| {bound:.0f} ({100 * row['decode_tok_s'] / bound:.0f}%) | {row['quote_recall']:.2f} | "
            f"{row['supported']:.2f} | {row['generated']:.2f} | {same}/{len(row['answers'])} | "
            f"{row['phrased'][0]}/{row['phrased'][1]} |"
        )
    table = "\n".join(lines)
    # per-token time = fixed + bytes x cost per byte, from the fp32 and bf16 rows (same code, half the bytes)
    fp32, bf16 = r["rows"][0], r["rows"][1]
    ms = lambda row: 1000 / row["decode_tok_s"]
    per_mb = (ms(fp32) - ms(bf16)) / ((fp32["weights"] - bf16["weights"]) / 1e6)
    fixed = ms(bf16) - per_mb * bf16["weights"] / 1e6
    return f"""## Decode and prefill: vLLM CPU options

One vLLM server at a time on a free port (`bench/decode.py`), the packaged SmolLM2-135M-Instruct, eager
mode. Prefill: time to the first token of the verified-mode prompt (median of {r["questions"]} dev questions,
{base["prompt_tokens"]:.0f} prompt tokens median), one request at a time. Decode: tokens per second of one
stream generating {r["decode_tokens"]} tokens. Bound: copy bandwidth ({r["bandwidth"]:.1f} GB/s, NumPy) divided by the
weights' size in memory as served, the speed at which one decode step can stream every weight once.
Answers: `Assistant.ask` in verified mode, greedy, on the same {r["questions"]} dev questions: the share whose answer holds at
least half the gold quote's content words (the correctness proxy, 78.5% agreement with the hand labels), the
share of the model's sentences the verifier keeps (90% agreement), the share answered in the model's own
words rather than the notes' sentences, and how many answers are the first row's text exactly. Interview:
mock-interview questions the model phrased validly (`phrasing="llm"`, 10 concepts x seeds 0 and 1; the
others fall back to templates).

| configuration | start-up | weights | prefill (TTFT) | decode tok/s | bound tok/s (reached) | quote recall | sentences kept | model's own answer | same text | interview questions phrased |
|---|---|---|---|---|---|---|---|---|---|---|
{table}

Where decode time goes: one token took {ms(fp32):.1f} ms in fp32 and {ms(bf16):.1f} ms in bf16, the same work on half
the bytes, so per token the weights cost {per_mb * 1000:.0f} ms per GB and **{fixed:.1f} ms is fixed**, whatever the
weights' size: 30 layers of small kernels launched one by one in eager mode, the sampler over a 49,152-word
vocabulary and vLLM's per-step scheduling in Python. That fixed part caps a single stream of these float kernels at about
{1000 / fixed:.0f} tokens/s on this machine even with weights that cost nothing to read; it, not memory bandwidth, is
what keeps a 135M model far from the bandwidth bound. Batching spreads the fixed part over many streams
("Answering" above).
"""
