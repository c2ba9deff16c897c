"""Scores over time as a figure: `rag progress --plot FILE.png` writes it, the Progress tab shows it.

matplotlib is imported only when a plot is asked for: `rag progress` without `--plot` starts as fast as
the rest of the CLI.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from rag.interview.progress import Progress


def plot_progress(progress: Progress, path: str | Path | None = None) -> Figure:
    """Each answer's score (grey) and each session's mean (orange), session by session; written as PNG
    to `path` when given."""
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in the app's threads

    figure = Figure(figsize=(7, 3.6), dpi=110)
    ax = figure.add_subplot()
    sessions = [s for s in progress.sessions if s["answered"]]
    # one step per session, labelled with its day and time: sessions an hour apart stay apart
    steps = range(1, len(sessions) + 1)
    for step, s in zip(steps, sessions):
        ax.scatter([step] * len(s["scores"]), s["scores"], s=14, color="#9aa5b1", zorder=2)
    ax.plot(steps, [s["mean_score"] for s in sessions], marker="o", color="#c2410c", zorder=3, label="session mean")
    ax.set_xticks(list(steps), [datetime.fromisoformat(s["time"]).strftime("%b %d\n%H:%M") for s in sessions])
    ax.set_ylim(-0.5, 10.5)
    ax.set_ylabel("score (0-10)")
    ax.set_title("Interview scores by session" if sessions else "No interview answered yet")
    if sessions:
        ax.legend(loc="lower right")
    figure.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    return figure
