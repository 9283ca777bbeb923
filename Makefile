# mpbraze: `make run` serves the dashboard with a worker and beat; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test test-rabbitmq lint typecheck pytest bench demo install clean

$(BIN)/.installed: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c constraints.txt
	touch $@

# The real mParticle Web SDK the browser tests load (pinned in tests/js/package-lock.json);
# without npm the tests that need it skip, naming the missing file.
JS_SDK := tests/js/node_modules/.package-lock.json
$(JS_SDK): tests/js/package.json tests/js/package-lock.json
	if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix tests/js --no-audit --no-fund --ignore-scripts --loglevel=error; fi

install: $(BIN)/.installed

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
	PORT=$(PORT) $(BIN)/python -m devtools.devstack

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: install
	$(BIN)/mypy .

pytest: install $(JS_SDK)
	$(BIN)/pytest -n 2

test: lint typecheck pytest

# The broker tests and the pipeline subset again with RabbitMQ carrying tasks (CI runs it after
# `make test`); RABBITMQ_URL is a vhost of this run (.ci/run makes one), Redis stays the cache.
test-rabbitmq: install
	CELERY_BROKER_URL=$${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672//} $(BIN)/pytest -p no:xdist \
		tests/reliability/test_brokers.py tests/reliability/test_pipeline.py \
		tests/reliability/test_ops_script.py tests/production/test_compose_stack.py

bench: install
	$(BIN)/python -m tests.benchmarks

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo --port $(PORT)

clean:
	rm -rf $(VENV) .local .pytest_cache .mypy_cache .ruff_cache
