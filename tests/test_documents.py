"""Loaders: each note format, and every kind of bad input the issue lists."""

import pytest
from helpers import NOTES, minimal_pdf, write

from ingest.documents import list_notes, load_document
from ingest.errors import NotesFolderError

OBSIDIAN = """---
title: Optimisers
tags: [ml, "training"]
date: 2024-03-04
status: draft
---
# Adam
Adam combines [[Momentum|momentum]] with [[RMSProp]] and see [[Optimisers#SGD]].
![[adam-curve.png]]
It is <mark style="background: #FFB8EBA6;">adaptive</mark> per parameter. #optimizer #ml/deep

<details>
<summary>Update rule</summary>
$$ m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t $$
</details>

```python
opt = torch.optim.Adam(params, lr=1e-3)  # not a #tag
```
"""


def test_markdown_front_matter_links_embeds_html_tags(notes_dir):
    path = write(notes_dir, "opt.md", OBSIDIAN)
    doc = load_document(path, "opt.md")
    text = "\n".join(doc.lines)
    assert doc.kind == "markdown"
    assert doc.title == "Optimisers"
    assert doc.metadata["status"] == "draft"
    assert doc.metadata["date"] == "2024-03-04"
    assert doc.metadata["embeds"] == ["adam-curve.png"]
    assert "Adam combines momentum with RMSProp and see Optimisers > SGD." in text
    assert "[[" not in text and "![[" not in text
    assert "It is adaptive per parameter." in text
    assert "<mark" not in text and "<details>" not in text
    assert "Update rule" in text  # <details> content kept as text
    assert "$$ m_t = \\beta_1 m_{t-1} + (1-\\beta_1) g_t $$" in text  # LaTeX verbatim
    assert "opt = torch.optim.Adam(params, lr=1e-3)  # not a #tag" in text  # code verbatim
    assert doc.tags == ["ml", "training", "optimizer", "ml/deep"]
    # line numbers stay true to the file: the body starts after the 6 front-matter lines
    assert doc.first_line == 7
    assert doc.lines[0] == "# Adam"


def test_shipped_notes_load(tmp_path):
    files, skipped = list_notes(NOTES)
    assert set(files) == {
        "accenture-interview-prep.md",
        "ai-applications-summary.txt",
        "life-as-an-ml-engineer.md",
        "ml-fundamentals.md",
        "ml-in-industry-lecture.txt",
    }
    assert skipped == []
    deck = load_document(files["life-as-an-ml-engineer.md"], "life-as-an-ml-engineer.md")
    assert deck.title == "Life as an ML Engineer"
    assert "img/terms.jpg" in deck.metadata["embeds"]
    assert not any(line.strip().startswith(":::") for line in deck.lines)  # Pandoc divs dropped, notes kept
    fundamentals = load_document(files["ml-fundamentals.md"], "ml-fundamentals.md")
    assert {"beginner", "MLinHEP", "bdt"} <= set(fundamentals.tags)


def test_plain_text_and_pdf(notes_dir):
    txt = load_document(write(notes_dir, "lecture.txt", "1. INTRO\n\nHello there.\n"), "lecture.txt")
    assert txt.kind == "text" and txt.lines[0] == "1. INTRO"
    pdf = load_document(
        write(notes_dir, "paper.pdf", minimal_pdf(["Dropout prevents co-adaptation.", "Second line"])), "paper.pdf"
    )
    assert pdf.kind == "pdf"
    assert "Dropout prevents co-adaptation." in "\n".join(pdf.lines)
    assert pdf.lines[0] == "PAGE 1"


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary data"),
        ("empty.md", b"", "empty file"),
        ("blank.txt", b"  \n\n\t\n", "only white space"),
        ("broken.pdf", b"%PDF-1.4\nthis is not a pdf at all", "PDF"),
    ],
)
def test_bad_files_raise_one_line_reason(notes_dir, name, content, reason):
    path = write(notes_dir, name, content)
    with pytest.raises(ValueError) as e:
        load_document(path, name)
    message = str(e.value)
    assert reason in message
    assert "\n" not in message
    assert "—" in message  # every reason says what to do


def test_oversized_file_is_refused(notes_dir, monkeypatch):
    import ingest.documents as documents

    monkeypatch.setattr(documents, "MAX_FILE_BYTES", 1024)
    path = write(notes_dir, "huge.md", "# Big\n" + "word " * 400)
    with pytest.raises(ValueError, match="over the 0 MB limit|MB limit"):
        load_document(path, "huge.md")


def test_real_50_mb_file_is_refused_without_reading_it(notes_dir):
    path = notes_dir / "dump.md"
    with path.open("wb") as f:
        f.truncate(50 * 1024 * 1024)  # sparse: no 50 MB written to disk
    with pytest.raises(ValueError, match="50 MB"):
        load_document(path, "dump.md")


def test_broken_front_matter_keeps_text_and_warns(notes_dir):
    path = write(notes_dir, "broken.md", "---\ntitle: [unclosed\ntags: : :\n---\n# Heading\nBody text here.\n")
    doc = load_document(path, "broken.md")
    assert doc.warning and "front matter" in doc.warning and "\n" not in doc.warning
    assert "Body text here." in "\n".join(doc.lines)
    # the block that failed to parse is not indexed as note text, and line numbers still match the file
    assert not any("unclosed" in line or "tags:" in line for line in doc.lines)
    assert doc.first_line == 5 and doc.lines[0] == "# Heading"


def test_listing_skips_unsupported_hidden_and_escaping_symlinks(notes_dir, tmp_path):
    write(notes_dir, "good.md", "# A\ntext\n")
    write(notes_dir, "image.png", b"\x89PNG")
    write(notes_dir, ".obsidian/workspace.json", "{}")
    outside = write(tmp_path, "secret.md", "# secret\n")
    (notes_dir / "link.md").symlink_to(outside)
    write(notes_dir, "sub/inner.md", "# inner\n")
    (notes_dir / "inner-link.md").symlink_to(notes_dir / "sub" / "inner.md")
    files, skipped = list_notes(notes_dir)
    assert set(files) == {"good.md", "sub/inner.md", "inner-link.md"}
    reasons = {s.source: s.reason for s in skipped}
    assert "outside the notes folder" in reasons["link.md"]
    assert "unsupported file type .png" in reasons["image.png"]


def test_missing_folder(tmp_path):
    with pytest.raises(NotesFolderError, match="notes folder not found"):
        list_notes(tmp_path / "nope")


ESCAPES = (
    "# Colours\x1b[31m red\x1b[0m\nA note that sets the \x1b]0;pwned title\x07window title and rings\x07 "
    "a bell.\nTabs\tstay.\n"
)


@pytest.mark.parametrize("name", ["escapes.md", "escapes.txt"])
def test_terminal_control_sequences_are_taken_out_line_for_line(notes_dir, name):
    doc = load_document(write(notes_dir, name, ESCAPES), name)
    text = "\n".join(doc.lines)
    assert "\x1b" not in text and "\x07" not in text and "[31m" not in text and "pwned" not in text
    assert doc.lines[:3] == ["# Colours red", "A note that sets the window title and rings a bell.", "Tabs\tstay."]


def test_an_unterminated_escape_string_takes_only_its_own_line(notes_dir):
    doc = load_document(write(notes_dir, "cut.md", "# Cut\nA title \x1b]0;never ended\nNext line.\nLast.\n"), "cut.md")
    assert doc.lines[:4] == ["# Cut", "A title", "Next line.", "Last."]


def test_invalid_utf8_is_read_with_replacement_characters_and_a_warning(notes_dir):
    path = write(notes_dir, "latin1.txt", "caf\xe9 cr\xe8me\nfine line\n".encode("latin-1"))
    text = load_document(path, "latin1.txt")
    assert text.lines[:2] == ["caf\ufffd cr\ufffdme", "fine line"]
    assert text.warning and "not valid UTF-8 at line 1" in text.warning and "2 bad bytes" in text.warning
    assert "\n" not in text.warning and "—" in text.warning
    # a Markdown note's own front-matter warning is kept beside it
    md = write(notes_dir, "both.md", b"---\ntitle: [unclosed\n---\n# H\nna\xefve\n")
    doc = load_document(md, "both.md")
    assert "UTF-8" in doc.warning and "front matter" in doc.warning and doc.lines == ["# H", "na\ufffdve", ""]
