# The two commands a fresh machine needs (README): `make demo` and `make test`.
QUESTION ?= What does batch normalization do?
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test test-fast lint bench

demo:
	@scripts/bootstrap.sh cpu
	.venv/bin/rag ingest notes
	.venv/bin/rag ask "$(QUESTION)"

# everything: lint, the unit tests, then the integration tiers (processes, a real vLLM, Chromium)
test: lint
	.venv/bin/python -m pytest -q

# seconds, not minutes: unit tests with the fake LLM; no vLLM, no browser, no extra processes
test-fast: lint
	.venv/bin/python -m pytest -q -m "not llm and not browser and not integration"

lint:
	@scripts/bootstrap.sh cpu,dev,eval
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

bench:
	@scripts/bootstrap.sh cpu,dev,eval
	.venv/bin/python -m bench
