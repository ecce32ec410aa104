# Two commands: `make run` serves the API, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint soak bench bench-growth bench-capabilities clean-db

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/weighin dev

test: $(STAMP)
	$(BIN)/pytest

# the long reliability run: 16 clients for 5 minutes, plus the fault run, the two-instance run behind
# nginx and the fuzzer, each longer
soak: $(STAMP)
	SOAK_SECONDS=300 SOAK_CLIENTS=16 FUZZ_EXAMPLES=100 $(BIN)/pytest -s tests/reliability

# issue 7's benchmark: the service beside pgbench, writes docs/benchmarks.md (BENCH_GROUPS=10000|100000|1000000)
bench: $(STAMP)
	$(BIN)/python -m bench.run

# approve and list at 10k, 100k and 1M groups of history (~10 min, so not part of `make bench`)
bench-growth: $(STAMP)
	$(BIN)/python -m bench.run --growth

# SPEC §10: a transfer beside pgbench, the stock reads at 1 and 8 connections; 110k groups = 1.01M ledger rows
bench-capabilities: $(STAMP)
	$(BIN)/python -m bench.run --capabilities --groups 110000

lint: $(STAMP)
	$(BIN)/ruff check .

clean-db:
	-$(BIN)/python -c 'from service.cli import embedded_cluster; embedded_cluster().stop()'
	rm -rf .pgdata
