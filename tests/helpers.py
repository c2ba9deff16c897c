"""Small helpers shared by the tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from rag.llm.vllm_server import free_port  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "notes"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"  # Debian's, driven through Playwright's executable_path
RAG = str(Path(sys.executable).parent / "rag")
# what other tests leave in the shared shipped index (their history, their interview sessions): a copy
# made with this starts without them
FRESH = shutil.ignore_patterns("history.sqlite*", "interview")


def rag(*args, env=None, input=None, timeout=300) -> subprocess.CompletedProcess:
    """The `rag` console script, run as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([RAG, *args], capture_output=True, text=True, env=full_env, input=input, timeout=timeout)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def copy_shipped(dest: Path, *names: str) -> None:
    for name in names:
        shutil.copy(NOTES / name, dest / name)


def minimal_pdf(lines: list[str]) -> bytes:
    """A valid one-page PDF with the given text lines (Helvetica), built by hand: no writer library needed."""
    text = " ".join(f"({line.replace('(', '[').replace(')', ']')}) Tj 0 -16 Td" for line in lines)
    stream = f"BT /F1 12 Tf 72 720 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R "
        b">> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def start_interview(page, topic: str, n: int, timeout: float | None = None) -> None:
    """From the browser app's Interview tab: a session of `n` questions on `topic`, started; returns once
    its first question shows (within `timeout` ms, else Playwright's default)."""
    page.get_by_role("tab", name="Interview").click()
    page.fill("#iv-topic textarea", topic)
    page.locator("#iv-n input[type=number]").fill(str(n))
    page.locator("#iv-n input[type=number]").press("Enter")
    page.click("#iv-start")
    page.wait_for_selector("#iv-question h3", **({"timeout": timeout} if timeout else {}))
