"""How the abstention rule trades refusing unanswerable questions against refusing answerable ones.

Every question is scored by the rule's own measure (`Evidence.score`, no LLM involved); a threshold
abstains below it. The curve is drawn for the tuning questions (dev + test, where the threshold was
chosen) and the held-out ones, with the configured thresholds marked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from eval.dataset import Question

THRESHOLDS = np.round(np.arange(0.30, 0.651, 0.01), 2)
TUNING, HELD_OUT = ("dev", "test"), ("holdout",)


@dataclass
class AbstentionCurve:
    name: str
    answerable: int
    unanswerable: int
    points: list[dict] = field(default_factory=list)  # threshold, abstention, false_abstention

    def at(self, threshold: float) -> dict:
        return min(self.points, key=lambda p: abs(p["threshold"] - threshold))


def scores(assistant, questions: list[Question], progress=None) -> list[tuple[bool, float]]:
    out = []
    for n, q in enumerate(questions, 1):
        if progress:
            progress("abstention", n, len(questions))
        out.append((q.answerable, assistant.evidence(q.question, assistant.retrieve(q.question)).score))
    return out


def curve(name: str, scored: list[tuple[bool, float]]) -> AbstentionCurve:
    answerable = np.array([s for a, s in scored if a])
    unanswerable = np.array([s for a, s in scored if not a])
    points = [
        {
            "threshold": float(t),
            "abstention": float(np.mean(unanswerable < t)) if len(unanswerable) else None,
            "false_abstention": float(np.mean(answerable < t)) if len(answerable) else None,
        }
        for t in THRESHOLDS
    ]
    return AbstentionCurve(name, len(answerable), len(unanswerable), points)


def write_abstention_report(
    curves: list[AbstentionCurve], thresholds: dict[str, float], out: Path, command: str = ""
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "abstention.json").write_text(
        json.dumps({"thresholds": thresholds, "curves": [asdict(c) for c in curves]}, indent=1)
    )
    lines = [
        "# Abstention",
        "",
        "Unanswerable questions refused (abstention) against answerable ones refused (false abstention).",
    ]
    if command:
        lines.append(f"Command: `{command}`.")
    lines += [
        "",
        "| questions | answerable | unanswerable | " + " | ".join(f"{k} {v}" for k, v in thresholds.items()) + " |",
        "|---|---|---|" + "---|" * len(thresholds),
    ]
    for c in curves:
        cells = [
            f"abstention {c.at(v)['abstention']:.2f}, false {c.at(v)['false_abstention']:.2f}"
            for v in thresholds.values()
        ]
        lines.append(f"| {c.name} | {c.answerable} | {c.unanswerable} | " + " | ".join(cells) + " |")
    (out / "abstention.md").write_text("\n".join(lines) + "\n")

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for c in curves:
        ax.plot(
            [p["false_abstention"] for p in c.points], [p["abstention"] for p in c.points], marker=".", label=c.name
        )
        for label, value in thresholds.items():
            p = c.at(value)
            ax.annotate(
                f"{label} {value}",
                (p["false_abstention"], p["abstention"]),
                fontsize=7,
                xytext=(4, -10),
                textcoords="offset points",
            )
            ax.plot([p["false_abstention"]], [p["abstention"]], "ko", markersize=4)
    ax.axvline(0.1, color="grey", linestyle=":", linewidth=1)
    ax.axhline(0.8, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("false abstention (answerable questions refused)")
    ax.set_ylabel("abstention (unanswerable questions refused)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right")
    ax.set_title("Abstention rule: threshold sweep")
    fig.tight_layout()
    fig.savefig(out / "abstention.png", dpi=110)
    plt.close(fig)
    return [out / "abstention.json", out / "abstention.md", out / "abstention.png"]
