"""What a command costs a user: each CLI command in a new process (interpreter start, imports, model
load, the work), wall time and the CPU time it used; `rag ask` against a running server, to the first
answer byte and to the end; and the two embedding backends on the shipped chunks."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rag import Assistant

REPO = Path(__file__).resolve().parent.parent
RAG = str(Path(sys.executable).parent / "rag")
QUESTIONS = ["What is dropout?", "How does batch normalization help training?", "What is the bias-variance trade-off?"]
ASK = ["What does batch normalization do?", "Why are distant rewards discounted?", "What is overfitting?"]

# before this work, same machine: issue #15's table (torch and sentence-transformers on every question);
# --help and status measured at the start of the work (load average 1.2)
BEFORE = {
    "--help": "1.0 s",
    "status": "0.9 s",
    "retrieve": "9-14 s",
    "ask_first": "10.6 s",  # --json's first_token, in process
    "ask_total": "12-18 s",
}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str], repeats: int = 3) -> dict:
    """Median wall and CPU seconds of `rag ARGS` in a new process."""
    walls, cpus = [], []
    for _ in range(repeats):
        cpu, started = _children_cpu(), time.perf_counter()
        subprocess.run([RAG, *args], check=True, capture_output=True, cwd=REPO)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
    return {"wall": statistics.median(walls), "best": min(walls), "cpu": statistics.median(cpus), "max": max(walls)}


def ask_wall(question: str, index: Path, notes: Path) -> dict:
    """`rag ask --json` as a user runs it: seconds from the command to its exit, and to the model's first
    token (the process's time before its answer began, plus the answer's own first-token time). On a
    terminal that is when the draft starts to show; the checked answer replaces it at the end."""
    import json

    cpu, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [RAG, "ask", question, "--index", str(index), "--notes", str(notes), "--no-autostart", "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    total = time.perf_counter() - started
    timings = json.loads(done.stdout)["timings"]
    before_answer = total - timings["total"]
    first = before_answer + timings["first_token"] if "first_token" in timings else float("nan")
    return {
        "first": first,
        "total": total,
        "cpu": _children_cpu() - cpu,
        "exit": done.returncode,
        "mode": json.loads(done.stdout)["mode"],
    }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # all threads: the work, whatever else runs
    return usage.ru_utime + usage.ru_stime


def embedding_backends(a: Assistant) -> dict:
    from ingest.embed import PACKAGED_EMBEDDING, Embedder, resolve_model

    texts = [c.embed_text for c in a.index.chunks]
    result = {"chunks": len(texts)}
    for name, embedder in (
        ("onnx", a.embedder),
        ("sentence-transformers", Embedder(resolve_model(PACKAGED_EMBEDDING))),
    ):
        started, cpu = time.perf_counter(), _own_cpu()
        embedder.embed(["warm up"])
        load, load_cpu = time.perf_counter() - started, _own_cpu() - cpu
        started, cpu = time.perf_counter(), _own_cpu()
        embedder.embed(texts)
        result[name] = {
            "load": load,
            "load_cpu": load_cpu,
            "embed": time.perf_counter() - started,
            "embed_cpu": _own_cpu() - cpu,
        }
    return result


def run(repeats: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        notes = Path(tmp) / "notes"
        shutil.copytree(REPO / "notes", notes)
        index = Path(tmp) / "index"
        a = Assistant(notes_dir=notes, index_dir=index)
        a.ingest()
        where = ["--index", str(index), "--notes", str(notes)]
        result = {
            "load": os.getloadavg()[0],
            "help": timed(["--help"], repeats),
            "status": timed(["status", *where], repeats),
            "retrieve": [timed(["retrieve", q, *where], repeats) for q in QUESTIONS],
            "backends": embedding_backends(a),
        }
        result["server_url"] = a.settings.llm_base_url
        if a.llm.is_up():
            result["ask"] = [ask_wall(q, index, notes) for q in ASK]
        result["load_after"] = os.getloadavg()[0]
    return result


def section(r: dict) -> str:
    retrieve = r["retrieve"]
    wall = statistics.median(x["wall"] for x in retrieve)
    cpu = statistics.median(x["cpu"] for x in retrieve)
    rows = [
        f"| `rag --help` | {BEFORE['--help']} | {r['help']['best']:.2f} / {r['help']['wall']:.2f} s | "
        f"**{r['help']['cpu']:.2f} s** | < 0.5 s |",
        f"| `rag status` | {BEFORE['status']} | {r['status']['best']:.2f} / {r['status']['wall']:.2f} s | "
        f"**{r['status']['cpu']:.2f} s** | < 0.5 s |",
        f'| `rag retrieve "QUESTION"` ({len(retrieve)} questions x 3) | {BEFORE["retrieve"]} | '
        f"{min(x['best'] for x in retrieve):.2f} / {wall:.2f} s | **{cpu:.2f} s** | < 1 s |",
    ]
    if r.get("ask"):
        asks = r["ask"]
        rows += [
            f"| `rag ask`, the model's first token ({len(asks)} questions) | {BEFORE['ask_first']} | "
            f"{min(x['first'] for x in asks):.2f} / {statistics.median(x['first'] for x in asks):.2f} s | | < 2 s |",
            f"| `rag ask`, whole answer | {BEFORE['ask_total']} | {min(x['total'] for x in asks):.2f} / "
            f"{statistics.median(x['total'] for x in asks):.2f} s | "
            f"{statistics.median(x['cpu'] for x in asks):.2f} s (this process; the server's work not counted) | < 5 s |",
        ]
    else:
        rows.append(
            f"| `rag ask` | {BEFORE['ask_total']} | not measured: no server answered at {r['server_url']} | | |"
        )
    b = r["backends"]
    onnx, st = b["onnx"], b["sentence-transformers"]
    return f"""## Start-up: what a command costs

Each command in a new process, as a user types it (interpreter start, imports, model load, the work): wall
time, and the CPU time the process used, which other work on the machine does not inflate. The index is the
shipped notes'. `rag ask --json` runs against the server already up at {r["server_url"]} (`--no-autostart`),
timed to its exit and to the model's first token: the time the process spent before its answer began (wall
minus the answer's own `timings.total`) plus the answer's `timings.first_token`; on a terminal the draft
starts to show then, and the checked answer replaces it at the end. The machine's load average was {r["load"]:.1f} at the
start and {r["load_after"]:.1f} at the end (2 cores: above 2, other processes were competing for them).
"Before": issue #15's figures, on the same machine.

| command | before (wall) | now, wall: best / median | now, CPU | goal (wall) |
|---|---|---|---|---|
{chr(10).join(rows)}

What changed: the packaged MiniLM runs as ONNX with onnxruntime and `tokenizers` (no torch,
transformers or sentence-transformers in the process; `tests/test_speed.py` checks it), the CLI and the
package import each module where it is used, and bm25s is imported without numba (a backend these indexes
do not use). The ONNX graph is exported once by `rag model prepare`, or by the first process that needs it
(about 15 s).

Embedding the {b["chunks"]} shipped chunks in one process, after loading the model:

| backend | load, wall / CPU | embed all chunks, wall / CPU | chunks per CPU-second |
|---|---|---|---|
| ONNX (onnxruntime, default for the packaged model) | {onnx["load"]:.1f} / {onnx["load_cpu"]:.1f} s | {onnx["embed"]:.1f} / {onnx["embed_cpu"]:.1f} s | **{b["chunks"] / onnx["embed_cpu"]:.0f}** |
| sentence-transformers (torch) | {st["load"]:.1f} / {st["load_cpu"]:.1f} s | {st["embed"]:.1f} / {st["embed_cpu"]:.1f} s | {b["chunks"] / st["embed_cpu"]:.0f} |

Both give the same vectors (cosine >= 0.999 on every shipped chunk, `tests/test_speed.py`), so ingest uses
ONNX too, and an index embedded by either stays valid.
"""
