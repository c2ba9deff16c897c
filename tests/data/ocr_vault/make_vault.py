"""Write the OCR test vault beside this script: notes that embed a pasted diagram (Obsidian's
`![[Pasted image ….png]]`, kept in an attachments folder) and a Markdown image, and a scanned lecture
page (a PDF holding nothing but a picture of its text).

    .venv/bin/python tests/data/ocr_vault/make_vault.py

The generated files are committed; run this again only to change them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # Debian's fonts-dejavu-core

ATTENTION_NOTE = """\
---
tags: [deep-learning]
---
# Sequence to sequence

The architecture, as drawn in the lecture:

![[Pasted image 20240101.png]]

Attention lets the decoder look at every encoder state instead of one summary vector.
"""

OPTIMISATION_NOTE = """\
# Optimisation tricks

Warm-up and schedules are covered elsewhere. The slide that explains the trick:

![slide](../img/warmup%20slide.png)

Adam keeps a running average of the gradient and of its square.
"""

SCANNED_PAGE = (
    "Label smoothing replaces the one-hot target with a mixture of the target and a uniform "
    "distribution over the classes, so the network is never pushed to infinitely confident logits."
)


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT, size)


def diagram() -> Image.Image:
    """Two labelled boxes joined by an arrow, with a caption under them: a pasted lecture diagram."""
    image = Image.new("L", (900, 330), 255)
    draw = ImageDraw.Draw(image)
    for left, label in ((60, "Encoder"), (560, "Decoder")):
        draw.rectangle((left, 40, left + 280, 150), outline=0, width=2)
        draw.text((left + 140, 95), label, font=font(44), fill=0, anchor="mm")
    draw.line((340, 95, 560, 95), fill=0, width=4)
    draw.polygon([(560, 95), (535, 80), (535, 110)], fill=0)
    caption = "Gradient clipping caps the norm of the gradient at a threshold"
    for n, line in enumerate(textwrap.wrap(caption, 36)):
        draw.text((60, 200 + n * 50), line, font=font(36), fill=0)
    return image


def slide() -> Image.Image:
    image = Image.new("L", (900, 200), 255)
    draw = ImageDraw.Draw(image)
    text = "Learning rate warmup starts from a tiny rate and grows it linearly for the first steps"
    for n, line in enumerate(textwrap.wrap(text, 40)):
        draw.text((40, 40 + n * 50), line, font=font(36), fill=0)
    return image


def scanned_page() -> Image.Image:
    """A page of text as a scanner sees it: a picture, no text layer."""
    image = Image.new("L", (1240, 700), 255)
    draw = ImageDraw.Draw(image)
    draw.text((100, 80), "Lecture 7: Regularisation", font=font(44), fill=0)
    for n, line in enumerate(textwrap.wrap(SCANNED_PAGE, 52)):
        draw.text((100, 180 + n * 52), line, font=font(36), fill=0)
    return image


def main() -> None:
    (HERE / "attachments").mkdir(exist_ok=True)
    (HERE / "img").mkdir(exist_ok=True)
    (HERE / "scans").mkdir(exist_ok=True)
    (HERE / "deep").mkdir(exist_ok=True)
    (HERE / "seq2seq.md").write_text(ATTENTION_NOTE)
    (HERE / "deep" / "optimisation.md").write_text(OPTIMISATION_NOTE)
    # Obsidian pastes into the attachments folder and embeds by bare file name
    diagram().save(HERE / "attachments" / "Pasted image 20240101.png", optimize=True)
    slide().save(HERE / "img" / "warmup slide.png", optimize=True)
    scanned_page().save(HERE / "scans" / "lecture-7-scan.pdf", "PDF", resolution=150)


if __name__ == "__main__":
    main()
