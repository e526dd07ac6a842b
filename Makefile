# Two commands after cloning: `make demo` and `make test`. Both set up what they
# need: a virtual environment in .venv and a lakeFS server binary (found, or
# built once from the pinned Go module and cached in ~/.cache/lakefs-wap).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Exact versions the test suite is run with; `make lock` refreshes them.
LOCK := requirements-dev.lock

.PHONY: demo test lint lakefs lock clean

demo: $(VENV)/.installed lakefs
	$(BIN)/python -m tools.demo

test: $(VENV)/.installed lakefs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lakefs: $(VENV)/.installed
	$(BIN)/python -m tools.lakefs_server build

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --python $(BIN)/python --constraint $(LOCK) --editable '.[dev]'
	touch $@

lock: $(VENV)/.installed
	$(BIN)/uv pip compile --python $(BIN)/python --extra dev --universal --python-version 3.10 \
		--no-header --output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
