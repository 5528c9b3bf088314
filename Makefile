# iocfeed — `make run` serves the demo, `make test` runs the whole suite. `make help` lists all.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000
DEMO_COUNT ?= 5000
DEMO_KEY   := iocfeed-demo.key

.DEFAULT_GOAL := help
.PHONY: help install run test check format bench bench-10m clean

help:  ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)  ## Create .venv and install iocfeed with its development tools

run: install  ## Load demo data into ./iocfeed.db, serve it on http://127.0.0.1:8000, run a worker
	$(BIN)/iocfeed db upgrade
	$(BIN)/iocfeed demo --count $(DEMO_COUNT)
	@test -s $(DEMO_KEY) || $(BIN)/iocfeed keys create --plan admin --name demo > $(DEMO_KEY)
	@echo "Demo admin key (also in $(DEMO_KEY)): $$(cat $(DEMO_KEY))"
	$(BIN)/iocfeed worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/iocfeed serve --host $(HOST) --port $(PORT)

test: install  ## Run the whole test suite (SQLite, PostgreSQL, Redis, outside STIX/TAXII judges)
	$(BIN)/pytest -n auto

check: install  ## Lint, type-check and check the layering
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install  ## Format the code
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install  ## One table of every benchmark, beside the previous release and floors (QUICK=1: 50,000 rows; SIZE=N)
	$(BIN)/python -m bench $(if $(QUICK),--quick) $(if $(SIZE),--size $(SIZE))

bench-10m: install  ## 10,000,000 indicators on PostgreSQL: import, first page, page 9000, export, memory (hours)
	$(BIN)/python -m bench --size 10m

clean:  ## Remove the virtualenv, caches and the demo database
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis iocfeed.db* $(DEMO_KEY)
