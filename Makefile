# Every command lives here. `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock

.PHONY: demo test lint fmt bench fuzz chaos up clean install dev sizes screenshots messages-extract messages-update messages-compile

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Herald needs Python 3.11 (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(PIP) -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) -e '.[dev]'
	@touch $@

# Stoplight Prism (Twilio contract tests), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(VENV)/.installed messages-compile
dev: $(VENV)/.installed-dev node_modules/.installed messages-compile

## Herald's own words in five languages (docs/languages.md): extract the English source strings,
## merge them into each language's .po, compile the .po files to .mo (not committed).
LOCALES := channels/locales
messages-extract: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project Herald \
		-o $(LOCALES)/messages.pot alerts channels admin_ui callcentre
messages-update: messages-extract
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) --no-fuzzy-matching
messages-compile: $(VENV)/.installed
	$(BIN)/pybabel compile -d $(LOCALES) --statistics

## The main job on the embedded default (SQLite, private Redis, Twilio simulator, SMTP sink).
demo: install
	$(BIN)/herald demo

## Lint, type-check and run the whole test suite. The tests mostly wait on servers, workers and
## subprocesses, so four pytest workers keep two cores busy (TEST_WORKERS=0 runs them in one).
TEST_WORKERS ?= 4
test: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The README's screenshots, taken by the browser tests (tests/browser/conftest.py names them).
screenshots: dev
	HERALD_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -n $(TEST_WORKERS) tests/browser

## Schemathesis over the JSON API's OpenAPI document, longer than the suite's run (docs/api-contract.md).
FUZZ_EXAMPLES ?= 100
fuzz: dev
	HERALD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -n 0 tests/contract/test_api_fuzz.py

## Fault injection, longer than the suite's run (docs/chaos.md): its own PostgreSQL and Redis,
## two APIs and two workers; kills, restarts, a 30 s Redis outage, provider and callback faults.
CHAOS_ALERTS ?= 300
chaos: install
	$(BIN)/python -m benchmarks.chaos --alerts $(CHAOS_ALERTS) --kills $${CHAOS_KILLS:-5} \
		--redis-outage $${CHAOS_REDIS_OUTAGE:-30}

## Throughput and memory figures, with ratios to baselines measured in the same run.
bench: export HERALD_BENCH_SUMMARY := $(CURDIR)/.bench-summary.jsonl
bench: install
	rm -f "$$HERALD_BENCH_SUMMARY"
	$(BIN)/python -m benchmarks.ingest --mb $${BENCH_MB:-256}
	$(BIN)/python -m benchmarks.ingest_memory --mb 16
	$(BIN)/python -m benchmarks.simulate_centre
	$(BIN)/python -m benchmarks.throughput --customers $${BENCH_CUSTOMERS:-100000} \
		--events $${BENCH_EVENTS:-100000} --rows $${BENCH_ROWS:-100000} \
		--database "$${BENCH_POSTGRES_URL:-$${HERALD_TEST_POSTGRES_URL:-}}"
	$(BIN)/python -m benchmarks.nightly --sizes $${BENCH_NIGHTLY:-10000,100000} \
		--database "$${BENCH_POSTGRES_URL:-$${HERALD_TEST_POSTGRES_URL:-}}"
	$(BIN)/python -m benchmarks.delivery --alerts $${BENCH_DELIVERY_ALERTS:-5000} \
		--seconds $${BENCH_DELIVERY_SECONDS:-30} \
		--database "$${BENCH_POSTGRES_URL:-$${HERALD_TEST_POSTGRES_URL:-}}"
	$(BIN)/python -m benchmarks.sweep
	$(BIN)/python -m benchmarks.pacing --alerts $${BENCH_PACING_ALERTS:-100} --rate 5 --workers 2
	$(BIN)/python -m benchmarks.webhooks --rate $${BENCH_WEBHOOK_RATE:-300} \
		--seconds $${BENCH_WEBHOOK_SECONDS:-10} \
		--database "$${BENCH_POSTGRES_URL:-$${HERALD_TEST_POSTGRES_URL:-}}"
	$(BIN)/python -m benchmarks.reports --alerts $${BENCH_ALERTS:-1000000} \
		--database "$${BENCH_POSTGRES_URL:-$${HERALD_TEST_POSTGRES_URL:-}}"
	$(BIN)/python -m benchmarks.summary "$$HERALD_BENCH_SUMMARY"

## Module and function sizes, complexity, untyped dicts (see docs/architecture.md).
sizes: install
	$(BIN)/python tools/sizes.py

## API + workers + embedded services, until Ctrl-C.
up: install
	$(BIN)/herald up

clean:
	rm -rf $(VENV) .herald .pytest_cache .mypy_cache .ruff_cache
