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

# The site's own address (Flask's SERVER_NAME, PREFERRED_URL_SCHEME, TRUSTED_HOSTS): absolute
# URLs (pages, feeds, mails sent by the worker) never take the Host a request claims, and
# another Host gets 400. Set BLOG_SERVER_NAME (and the others) to change them.
run dev prepare: export BLOG_SERVER_NAME ?= $(HOST):$(PORT)
run dev prepare: export BLOG_PREFERRED_URL_SCHEME ?= http
run dev prepare: export BLOG_TRUSTED_HOSTS ?= ["$(HOST)"]

# The background worker (mail, webmentions, image sizes) runs beside the server, in a session of
# its own so that Ctrl-C reaches it once, through the trap: it finishes its running jobs, then
# both are stopped.
WITH_WORKER = setsid $(BIN)/flask --app wsgi worker & worker=$$!; \
	trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT INT TERM;

# Migrate, load the demo (into an empty blog only) and print the setup link while no account exists.
prepare: $(VENV)/.installed-run
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi setup-link --base-url http://$(HOST):$(PORT)

# Served the way production serves it: gunicorn with gunicorn.conf.py, on this address.
run: prepare
	$(WITH_WORKER) GUNICORN_BIND=$(HOST):$(PORT) $(BIN)/gunicorn wsgi:app

# For working on the code: Flask's development server, which reloads when a file changes.
dev: prepare
	$(WITH_WORKER) $(BIN)/flask --app wsgi run --debug --host $(HOST) --port $(PORT)

node_modules/.package-lock.json: package-lock.json
	-npm ci --no-audit --no-fund --loglevel=error

test: $(VENV)/.installed-test node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tests/with-postgres $(MAKE) --no-print-directory pytest-passes

# The suite on SQLite, then again on PostgreSQL when there is one (always in CI, where a
# missing PostgreSQL fails the run): there, only the tests whose outcome the engine can change
# (see tests/conftest.py). tests/with-postgres sets BLOG_TEST_DATABASE_URL. PYTEST_WORKERS=2
# (or auto) spreads each pass over that many processes with pytest-xdist; each worker has its
# own databases, Chromium and ports. One process by default: the gain on CI's two cores is not
# measured yet (README, "The test suite").
PYTEST_WORKERS ?= 0
pytest-passes:
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	if [ -n "$$BLOG_TEST_DATABASE_URL" ] || [ "$$CI" = true ]; then \
	  BLOG_TEST_ENGINE=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); fi

# wrk against gunicorn and nginx at 1,000 and 100,000 posts, then mail (posting with a job
# recorded, the worker's mails a second; it uses aiosmtpd, a test tool); see BENCHMARKS.md. The
# bench reads the comment form as the load tests do (tests/helpers: html5lib), so it needs the
# test extra: one form reader for both, not a second one that could drift from what they prove.
# It runs deploy/nginx.conf like tests/test_nginx.py.
bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_mail.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
