# The README's two commands: make run, make test. Everything else is a helper for them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run dev prepare test pytest-passes lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.installed-run

# Migrate, load the demo (into an empty blog only) and print the setup link while no account exists.
prepare: $(VENV)/.installed-run
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi setup-link --base-url http://$(HOST):$(PORT)

# Served the way production serves it: gunicorn with gunicorn.conf.py, on this address.
run: prepare
	GUNICORN_BIND=$(HOST):$(PORT) $(BIN)/gunicorn wsgi:app

# For working on the code: Flask's development server, which reloads when a file changes.
dev: prepare
	$(BIN)/flask --app wsgi run --debug --host $(HOST) --port $(PORT)

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

# wrk against gunicorn and nginx at 1,000 and 100,000 posts; see BENCHMARKS.md. It reads pages
# with tests/helpers (html5lib, a test extra) and runs deploy/nginx.conf like tests/test_nginx.py.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
