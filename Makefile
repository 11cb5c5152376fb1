# Every target installs what it needs; nothing has to be installed by hand.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench reliability stop seed clean-data

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[embedded,dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

test: lint
	$(BIN)/pytest

# The reliability and security suite: every row prints "RELIABILITY | <row> | <figure>".
reliability: $(STAMP)
	LOG_LEVEL=ERROR $(BIN)/pytest tests/reliability tests/security tests/core/test_deploy_check.py -s

run: $(STAMP)
	$(BIN)/python scripts/run.py

seed: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

stop: $(STAMP)
	$(BIN)/python -m config.embedded stop

clean-data: stop
	rm -rf var/
