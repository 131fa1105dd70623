# The README's two commands: make run, make test. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test pytest-passes lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed-run

# The background worker (mail, ...) runs beside the server, in a session of its own so that
# Ctrl-C reaches it once, through the trap: it finishes its running jobs, then both are stopped.
WITH_WORKER = setsid $(BIN)/flask --app wsgi worker & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT INT TERM;

# Mails link to the blog at this address (Flask's SERVER_NAME); set BLOG_SERVER_NAME to change it.
run: export BLOG_SERVER_NAME ?= $(HOST):$(PORT)
run: $(VENV)/.installed-run
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi setup-link --base-url http://$(HOST):$(PORT)
	$(WITH_WORKER) $(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

node_modules/.package-lock.json: package-lock.json
	-npm ci --no-audit --no-fund --loglevel=error

test: $(VENV)/.installed-test node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tests/with-postgres $(MAKE) --no-print-directory pytest-passes

# The suite on SQLite, then again on PostgreSQL when there is one (always in CI, where a
# missing PostgreSQL fails the run). tests/with-postgres sets BLOG_TEST_DATABASE_URL.
pytest-passes:
	$(BIN)/pytest $(PYTEST_ARGS)
	if [ -n "$$BLOG_TEST_DATABASE_URL" ] || [ "$$CI" = true ]; then \
	  BLOG_TEST_ENGINE=postgresql $(BIN)/pytest $(PYTEST_ARGS); fi

# wrk against gunicorn and nginx at 1,000 and 100,000 posts, then mail (posting with a job
# recorded, the worker's mails a second; it uses aiosmtpd, a test tool); see BENCHMARKS.md.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_mail.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
