# The two commands a fresh machine needs (README): `make demo` and `make test`.
QUESTION ?= What does batch normalization do?
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test bench

demo:
	@scripts/bootstrap.sh cpu
	.venv/bin/rag ingest notes
	.venv/bin/rag ask "$(QUESTION)"

test:
	@scripts/bootstrap.sh cpu,dev
	.venv/bin/python -m pytest -q

bench:
	@scripts/bootstrap.sh cpu,dev
	.venv/bin/python -m bench
