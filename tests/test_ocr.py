"""Images read with Tesseract (ingest/ocr.py): a pasted diagram answers a question under its own name,
a scanned PDF is found, results are cached beside the index, and without Tesseract one notice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import NOTES, rag

from ingest.ocr import NOT_INSTALLED
from ingest.store import load_index

VAULT = Path(__file__).parent / "data" / "ocr_vault"
DIAGRAM = "attachments/Pasted image 20240101.png"
pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Debian's tesseract-ocr is not installed")


@pytest.fixture
def ocr_notes(notes_dir) -> Path:
    """The OCR vault (without the script that made it) and one shipped note with no image in it."""
    shutil.copytree(VAULT, notes_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copy(NOTES / "ml-fundamentals.md", notes_dir / "ml-fundamentals.md")
    return notes_dir


def test_a_pasted_diagram_answers_a_question_named_in_its_source(ocr_notes, make_assistant):
    a = make_assistant()
    stats = a.ingest()
    assert stats.warnings == []
    # the embedded image is read with the note, not reported as an unsupported file
    assert DIAGRAM not in {s.source for s in stats.skipped}

    answer = a.ask("What does gradient clipping do?", mode="extractive")

    assert "caps the norm of the gradient" in answer.text
    top = [s for s in answer.sources if s.cited][0]
    assert top.source == "seq2seq.md"
    assert top.heading == "seq2seq > Sequence to sequence > image: Pasted image 20240101.png"
    # at the embed's place in the note: the line `![[Pasted image 20240101.png]]` is on
    embed_line = (ocr_notes / "seq2seq.md").read_text().split("\n").index("![[Pasted image 20240101.png]]") + 1
    assert (top.line_start, top.line_end) == (embed_line, embed_line)


def test_a_markdown_image_is_found_from_the_note_folder(ocr_notes, make_assistant):
    # `![slide](../img/warmup%20slide.png)` in deep/optimisation.md
    hit = make_assistant().retrieve("How does learning rate warmup grow the rate?", k=1)[0]
    assert (hit.source, hit.chunk.heading_path[-1]) == ("deep/optimisation.md", "image: warmup slide.png")
    assert "grows it linearly" in hit.text


def test_a_scanned_pdf_becomes_searchable(ocr_notes, make_assistant):
    hits = make_assistant().retrieve("What does label smoothing replace the one-hot target with?", k=3)
    assert hits[0].source == "scans/lecture-7-scan.pdf"
    assert "uniform distribution over the classes" in hits[0].text


def test_without_tesseract_one_notice_and_the_rest_is_read(ocr_notes, make_assistant, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs"))  # a machine without tesseract-ocr
    a = make_assistant()
    stats = a.ingest()
    assert stats.warnings == [NOT_INSTALLED]
    assert NOT_INSTALLED == "images not read: tesseract is not installed; install tesseract-ocr"
    reasons = {s.source: s.reason for s in stats.skipped}
    assert "install tesseract-ocr" in reasons["scans/lecture-7-scan.pdf"]
    assert a.retrieve("What does attention let the decoder look at?", k=1)[0].source == "seq2seq.md"
    assert not [c for c in load_index(a.index_dir).chunks if "image: " in c.heading]


def test_cli_ingest_without_tesseract_says_so_in_one_line(ocr_notes, cli_env, tmp_path):
    env = {**cli_env, "PATH": str(tmp_path / "no-programs")}
    out = rag("ingest", str(ocr_notes), "--index", str(tmp_path / "cli-index"), env=env)
    assert out.returncode == 0, out.stderr
    lines = (out.stdout + out.stderr).splitlines()
    assert len([line for line in lines if NOT_INSTALLED in line]) == 1
    assert "scans/lecture-7-scan.pdf" in out.stdout + out.stderr  # passed over, saying why


def test_images_are_read_once_then_from_the_cache(ocr_notes, make_assistant, monkeypatch):
    a = make_assistant()
    a.ingest()
    assert len(list((a.index_dir / "ocr").iterdir())) == 3  # the diagram, the slide, the scanned page

    import pytesseract

    def no_ocr(*args, **kwargs):
        raise AssertionError("Tesseract ran again for an image it had read")

    monkeypatch.setattr(pytesseract, "image_to_string", no_ocr)
    stats = a.ingest(rebuild=True)
    assert stats.warnings == []
    assert "caps the norm" in a.retrieve("gradient clipping threshold", k=1)[0].text


def test_an_index_from_before_reads_images_without_embedding_the_rest_again(ocr_notes, make_assistant):
    make_assistant(ocr=False).ingest()  # what an index made before images were read holds
    a = make_assistant()
    assert a.index_stale() == "images in notes not read yet (Tesseract is installed now)"
    before = {c.id for c in load_index(a.index_dir).chunks}
    embedded = []
    stats = a.ingest(progress=lambda stage, done, total: embedded.append(total) if stage == "embedding" else None)

    assert stats.rebuilt_because is None
    after = load_index(a.index_dir).chunks
    new = [c for c in after if c.id not in before]
    assert {c.source for c in new} == {"seq2seq.md", "deep/optimisation.md", "scans/lecture-7-scan.pdf"}
    assert embedded[-1] == len(new)  # only what changed was embedded; ml-fundamentals.md kept its vectors
    assert len(new) < len(after)
    assert a.index_stale() is None


def test_an_edited_image_re_reads_the_note_that_shows_it(ocr_notes, make_assistant):
    a = make_assistant()
    a.ingest()
    shutil.copy(ocr_notes / "img" / "warmup slide.png", ocr_notes / DIAGRAM)  # the note file is untouched
    assert a.index_stale() == "notes 1 changed"
    stats = a.ingest()
    assert stats.updated == 1
    hit = a.retrieve("learning rate warmup grows linearly", sources=["seq2seq.md"], k=1)[0]
    assert hit.chunk.heading_path[-1] == "image: Pasted image 20240101.png" and "warmup" in hit.text
    manifest = json.loads((a.index_dir / (a.index_dir / "CURRENT").read_text().strip() / "manifest.json").read_text())
    assert list(manifest["files"]["seq2seq.md"]["images"]) == [DIAGRAM]
