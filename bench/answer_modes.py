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
# (label, answer mode, reader): verified with the reader's score added (`reader = true`) beside the default
MODES = (("raw", "raw", False), ("verified", "verified", False), ("verified + reader", "verified", True))
MODES += (("extractive", "extractive", False),)
IDLE_AFTER_ANSWER = 1.5  # vLLM's worker busy-polls for a second after each request (see "Answering")


def run(questions: int = 8) -> dict:
    port = server.free_port()
    settings = Settings(server_port=port, llm_base_url=f"http://127.0.0.1:{port}/v1", llm_autostart=False)
    assistant = Assistant(notes_dir=REPO / "notes", settings=settings)
    assistant.ingest()
    reading = Assistant(notes_dir=REPO / "notes", settings=settings.model_copy(update={"reader": True}))
    asked = [q.question for q in load_questions(split="holdout") if q.answerable][:questions]
    server.start(settings)
    try:
        for warm in (assistant, reading):  # models loaded, server compiled
            warm.ask("What is dropout?")
        timings: dict[str, list[dict]] = {label: [] for label, _, _ in MODES}
        for question in asked:
            for label, mode, reader in MODES:  # interleaved, so a noisy moment hits every mode alike
                time.sleep(IDLE_AFTER_ANSWER)
                answer = (reading if reader else assistant).ask(question, mode=mode)
                timings[label].append(answer.timings)
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
        for m, _, _ in MODES
    )
    return f"""## Answer modes end to end

`Assistant.ask` on the first {r["questions"]} answerable held-out questions, one at a time, each question in every
mode in turn against one fresh local vLLM server (the `rag serve` defaults); medians. `raw` sends the
five retrieved passages whole (the answer path before evidence selection); `verified` sends the
evidence sentences and checks every sentence it gets back (`verified + reader`: with the reader's score
added to the evidence ranking, `reader = true`); `extractive` never asks the LLM.

| mode | retrieve | first token | total |
|---|---|---|---|
{rows}
"""
