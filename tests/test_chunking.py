"""Chunks follow the document's structure and carry true metadata."""

from pathlib import Path

import pytest
from helpers import NOTES, write

from ingest.chunking import chunk_document
from ingest.documents import load_document
from ingest.embed import Embedder


@pytest.fixture(scope="module")
def count():
    return Embedder().count_tokens


def chunks_of(path: Path, source: str, count, **kw):
    return chunk_document(load_document(path, source), count, **kw)


def test_heading_paths_and_line_spans_match_the_file(count):
    doc = load_document(NOTES / "ml-fundamentals.md", "ml-fundamentals.md")
    chunks = chunk_document(doc, count)
    raw = (NOTES / "ml-fundamentals.md").read_text().split("\n")
    bn = [c for c in chunks if c.heading == "ml-fundamentals > Neural Network Terminologies > Batch Normalization"]
    assert bn, [c.heading for c in chunks][:40]
    assert "internal covariate shift" in bn[0].text
    for c in chunks:
        assert c.source == "ml-fundamentals.md"
        # the span's first and last lines (as cleaned: HTML tags and embeds removed) open and close the
        # chunk; a line longer than the budget is cut between words, never broken onto new lines
        cleaned = doc.lines[c.line_start - doc.first_line : c.line_end - doc.first_line + 1]
        lines = c.text.splitlines()
        assert lines[0].strip() in cleaned[0], (c.line_start, cleaned[0])
        assert lines[-1].strip() in cleaned[-1], (c.line_end, cleaned[-1])
        assert all(line.strip() in "\n".join(cleaned) for line in lines)
        assert len(raw) >= c.line_end
        assert c.embed_text.startswith(c.heading)


def test_plain_text_sections_numbered_and_slide_titles(count):
    summary = chunks_of(NOTES / "ai-applications-summary.txt", "ai-applications-summary.txt", count)
    kernels = [c for c in summary if c.heading_path[-1:] == ["KERNELS"]]
    assert kernels and kernels[0].heading_path == ["CONVOLUTIONAL NEURAL NETWORK (CNN)", "KERNELS"]
    # the table of contents ("5.2. Kernels<TAB>5") is not taken for headings
    assert not any("Kernels\t" in p for c in summary for p in c.heading_path)
    lecture = chunks_of(NOTES / "ml-in-industry-lecture.txt", "ml-in-industry-lecture.txt", count)
    assert any(c.heading_path and c.heading_path[-1].startswith("Approaching an ML Solution") for c in lecture)
    # slide lines such as "Experiment Tracking: ..." are content, never lost
    assert any("Weights & Biases, MLFlow, Tensorboard" in c.text for c in lecture)


def test_every_line_of_text_survives_chunking(count):
    for source in ("ml-in-industry-lecture.txt", "accenture-interview-prep.md", "life-as-an-ml-engineer.md"):
        doc = load_document(NOTES / source, source)
        chunks = chunk_document(doc, count)
        text = "\n".join(c.text for c in chunks)
        headings = " | ".join(c.heading for c in chunks)
        for n, line in enumerate(doc.lines):
            if line.startswith("#") and line.strip() not in text:
                # a heading with only sub-headings under it lives on in their heading paths; one with
                # nothing at all under it is dropped
                following = next((line for line in doc.lines[n + 1 :] if line.strip()), "#")
                assert line.lstrip("# ").strip() in headings or following.startswith("#"), (source, line)
            elif line.strip() not in text:
                # a line longer than a whole chunk is cut between words across chunks
                assert count(line) > 60 and all(word in text for word in line.split()), (source, line)


def test_long_sections_split_with_overlap_not_inside_code(notes_dir, count):
    paragraphs = "\n\n".join(
        f"Paragraph {i} talks about gradient descent and learning rates in some detail." for i in range(30)
    )
    code = "```python\n" + "\n".join(f"x{i} = compute({i})" for i in range(10)) + "\n```"
    path = write(notes_dir, "long.md", f"# Long\n{paragraphs}\n\n{code}\n\nAfter the code.\n")
    chunks = chunks_of(path, "long.md", count, chunk_tokens=120, overlap_tokens=30)
    assert len(chunks) > 3
    code_chunks = [c for c in chunks if "```python" in c.text]
    assert len(code_chunks) == 1 and code_chunks[0].text.count("```") == 2  # the fence stays whole
    # prose stays near the budget; the code block stays with the paragraphs before it (up to twice the
    # budget) and takes the section's last line, too short to be a chunk of its own
    assert all(count(c.text) <= 140 for c in chunks if c not in code_chunks)
    assert count(code_chunks[0].text) <= 2 * 120 + 30 and code_chunks[0].text.endswith("After the code.")
    # consecutive prose chunks share their boundary paragraph
    prose = [c for c in chunks if "Paragraph" in c.text]
    shared = set(prose[0].text.split("\n\n")) & set(prose[1].text.split("\n\n"))
    assert shared


def test_a_heading_opens_its_own_chunk_when_its_first_paragraph_fills_one(notes_dir, count):
    # the paragraph under "Local minima" just fits a chunk alone, so its heading line cannot join it
    # within the budget; the heading must still open that chunk, not close the short one before it
    heading_path = "dnn > Parts of a DNN > Local minima"
    budget = 96 - count(heading_path)
    words: list[str] = []
    while count(" ".join(words + ["noise"])) <= budget:
        words.append("noise")
    path = write(
        notes_dir,
        "dnn.md",
        f"# Parts of a DNN\nReLU -> f(x) = max(0,x)\n\n---\n\n##  Local minima\n{' '.join(words)}\n",
    )
    chunks = chunks_of(path, "dnn.md", count, chunk_tokens=96)
    relu = next(c for c in chunks if "ReLU" in c.text)
    assert "Local minima" not in relu.text and relu.heading_path == ["Parts of a DNN"]
    body = next(c for c in chunks if "noise" in c.text)
    assert body.text.startswith("##  Local minima") and body.heading_path == ["Parts of a DNN", "Local minima"]


def test_ids_are_stable_and_unique(count):
    a = chunks_of(NOTES / "ml-fundamentals.md", "ml-fundamentals.md", count)
    b = chunks_of(NOTES / "ml-fundamentals.md", "ml-fundamentals.md", count)
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)


def test_headings_lose_emphasis_markers_but_keep_a_lone_star_or_underscore(notes_dir, count):
    md = write(
        notes_dir,
        "rl.md",
        "# Optimal policy π^*\nThe best policy.\n\n## **Scaling** of *attention* scores\nDivide by the "
        "root.\n\n## Number of Estimators (n_estimators)\nMore trees.\n",
    )
    headings = {h for c in chunks_of(md, "rl.md", count) for h in c.heading_path}
    assert headings == {"Optimal policy π^*", "Scaling of attention scores", "Number of Estimators (n_estimators)"}
    # the shipped RL notes: a slide title in plain text
    summary = chunks_of(NOTES / "ai-applications-summary.txt", "ai-applications-summary.txt", count)
    assert any(c.heading_path[-1:] == ["Optimal policy π^*"] for c in summary)
