# The two commands: `make run` and `make test`. Everything they need is installed here.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
EMBEDDED := $(BIN)/python -m saas.embedded

.PHONY: run test install lint typecheck pytest lock bench clean

$(STAMP): pyproject.toml requirements.lock
	@echo "==> installing dependencies into $(VENV) (first run takes a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet --progress-bar off -r requirements.lock
	@$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

install: $(STAMP)

run: install
	@$(EMBEDDED) $(BIN)/python -m saas.devrun

test: install lint typecheck pytest

lint: install
	@echo "==> ruff"
	@$(BIN)/ruff check .

typecheck: install
	@echo "==> mypy"
	@$(BIN)/mypy

pytest: install
	@echo "==> pytest"
	@$(EMBEDDED) $(BIN)/pytest $(PYTEST_ARGS)

bench: install
	@$(EMBEDDED) $(BIN)/python bench/signup.py

# Spend ingestion under gunicorn + wrk beside pgbench on the same PostgreSQL (needs wrk).
.PHONY: bench-ingest
bench-ingest: install
	@$(EMBEDDED) $(BIN)/python bench/ingest.py $(BENCH_ARGS)

# The periodic pass over 50 agencies x 100 campaigns, beside its 60 s period.
.PHONY: bench-jobs
bench-jobs: install
	@$(EMBEDDED) $(BIN)/python bench/jobs.py $(BENCH_ARGS)

# A thousand agencies: quiet minute, one zone's midnight through a real worker, signup, migrate,
# a backend's memory. Its data stays in .data/bench-scale (BENCH_ARGS="--reuse" keeps it).
.PHONY: bench-scale
bench-scale: install
	@EMBEDDED_DATA_DIR=$(CURDIR)/.data/bench-scale $(EMBEDDED) $(BIN)/python bench/scale.py $(BENCH_ARGS)

# Webhook delivery through a real worker to a local receiver, beside a plain httpx client.
.PHONY: bench-webhooks
bench-webhooks: install
	@$(EMBEDDED) $(BIN)/python bench/webhooks.py $(BENCH_ARGS)

# Re-pin every dependency after editing pyproject.toml.
lock: install
	@$(BIN)/pip-compile --quiet --strip-extras --extra dev --extra embedded --no-emit-index-url --no-emit-find-links --allow-unsafe \
		--output-file requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) build *.egg-info

# What the per-token rate limit costs single spends: with and without it, alternating (needs wrk).
.PHONY: bench-limiter
bench-limiter: install
	@$(EMBEDDED) $(BIN)/python bench/limiter.py $(BENCH_ARGS)

# A PostgreSQL backend's memory after serving many agencies, with and without the schema limit.
.PHONY: bench-memory
bench-memory: install
	@$(EMBEDDED) $(BIN)/python bench/backend_memory.py $(BENCH_ARGS)

# Where a single spend's cost goes: the service beside cut-down copies of its view (needs wrk).
.PHONY: bench-spend-parts
bench-spend-parts: install
	@$(EMBEDDED) $(BIN)/python bench/spend_parts.py $(BENCH_ARGS)
