"""What each answer mode costs end to end: `Assistant.ask` on the same held-out questions, raw (whole
passages, as before evidence selection) against verified (evidence sentences, every sentence checked)
and extractive (no LLM), one question at a time against a fresh local vLLM server."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from eval.dataset import load_questions
from rag import Assistant, Settings
from rag.llm import vllm_server as server

REPO = Path(__file__).resolve().parent.parent
MODES = ("raw", "verified", "extractive")
IDLE_AFTER_ANSWER = 1.5  # vLLM's worker busy-polls for a second after each request (see "Answering")


def run(questions: int = 8) -> dict:
    port = server.free_port()
    settings = Settings(server_port=port, llm_base_url=f"http://127.0.0.1:{port}/v1", llm_autostart=False)
    assistant = Assistant(notes_dir=REPO / "notes", settings=settings)
    assistant.ingest()
    asked = [q.question for q in load_questions(split="holdout") if q.answerable][:questions]
    server.start(settings)
    try:
        assistant.ask("What is dropout?")  # warm-up: models loaded, server compiled
        timings: dict[str, list[dict]] = {m: [] for m in MODES}
        for question in asked:
            for mode in MODES:  # interleaved, so a noisy moment hits every mode alike
                time.sleep(IDLE_AFTER_ANSWER)
                answer = assistant.ask(question, mode=mode)
                timings[mode].append(answer.timings)
    finally:
        server.stop(settings)
    return {"questions": len(asked), "timings": timings}


def _median(rows: list[dict], key: str) -> str:
    values = [r[key] for r in rows if key in r]
    return f"{statistics.median(values):.2f} s" if values else "–"


def section(r: dict) -> str:
    rows = "\n".join(
        f"| {m} | {_median(r['timings'][m], 'retrieve')} | {_median(r['timings'][m], 'first_token')} | "
        f"{_median(r['timings'][m], 'total')} |"
        for m in MODES
    )
    return f"""## Answer modes end to end

`Assistant.ask` on the first {r["questions"]} answerable held-out questions, one at a time, each question in every
mode in turn against one fresh local vLLM server (the `rag serve` defaults); medians. `raw` sends the
five retrieved passages whole (the answer path before evidence selection); `verified` sends the
evidence sentences and checks every sentence it gets back; `extractive` never asks the LLM.

| mode | retrieve | first token | total |
|---|---|---|---|
{rows}
"""
