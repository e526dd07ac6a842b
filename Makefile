# Two commands after cloning: `make demo` and `make test`. Both set up what they
# need: a virtual environment in .venv and a lakeFS server binary (found, or
# built once from the pinned Go module and cached in ~/.cache/lakefs-wap).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Exact versions the test suite is run with; `make lock` refreshes them.
LOCK := requirements-dev.lock

# The oldest versions pyproject.toml claims (Python 3.10, Airflow 3.0.6, Dagster
# 1.13.0, the lakeFS SDKs' floors), installed in their own environment and tested by
# `make test-lower`. `make lock-lower` resolves every direct dependency to its floor
# and everything else as it stood the week Airflow 3.0.6 came out, the way Airflow's
# own constraint files pin a release: later FastAPI and pydantic releases break its
# in-process execution API. Packages whose floors came out later are exempt.
LOWER_VENV := .venv-lower
LOWER_BIN := $(LOWER_VENV)/bin
LOWER_LOCK := requirements-lower.lock
LOWER_PYTHON ?= $(shell PYENV_VERSION=3.10 python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null)
LOWER_AIRFLOW_DAY := 2025-09-05
LOWER_EXEMPT := dagster dagster-pipes dagster-shared lakefs lakefs-sdk lakefs-spec

.PHONY: demo test lint lakefs lock clean test-s3 lakefs-s3 postgres test-lower lock-lower compose-check \
	test-e2e chromium airflow-stack dagster-stack lakefs-ui docs docs-serve

demo: $(VENV)/.installed lakefs
	$(BIN)/python -m tools.demo

test: $(VENV)/.installed lakefs compose-check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Core, Airflow and Dagster tests on the lower bounds.
test-lower: $(LOWER_VENV)/.installed lakefs
	$(LOWER_BIN)/python -m pytest tests/core tests/airflow tests/dagster tests/test_lower_bounds.py $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The documentation site into site/ (git-ignored). --strict turns every warning into a
# failure: a broken link or heading anchor, a page left out of the nav, an API
# reference to a name that no longer exists.
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The site with live reload, on loopback only.
docs-serve: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8001

lakefs: $(VENV)/.installed
	$(BIN)/python -m tools.lakefs_server build

# The validator of docker-compose.yml (compose-go, the loader Docker Compose uses),
# built once with Go and cached like lakeFS: no Docker engine is needed.
compose-check: $(VENV)/.installed
	$(BIN)/python -m tools.compose_check build

# lakeFS as users run it: metadata in PostgreSQL, objects in a real S3 server
# (MinIO), so presigned URLs work. Runs the core suite (run-branch lifecycle,
# gates, object I/O on S3 storage), the launcher's own tests, and the tests
# marked `s3` (presigned GET and upload). A server that cannot start fails it.
S3_TESTS ?= tests/core tests/test_lakefs_server.py tests/dagster/test_io_presign.py
test-s3: $(VENV)/.installed lakefs-s3
	$(BIN)/python -m pytest --lakefs-backend=s3 $(S3_TESTS) $(PYTEST_ARGS)

# The real services end to end, as users run them: Airflow's api-server, scheduler,
# dag-processor and triggerer on PostgreSQL, Dagster's code server, webserver and
# daemon, with example_dags/, driven through their APIs and checked in headless
# Chromium, on lakeFS on PostgreSQL and MinIO. Marked `e2e`; `make test` skips them.
test-e2e: $(VENV)/.installed lakefs-s3 chromium
	$(BIN)/python -m pytest -m e2e --lakefs-backend=s3 tests/e2e $(PYTEST_ARGS)

# Headless Chromium and its driver from Debian packages, only when missing.
chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver; }

# The real Airflow or Dagster services with the examples, on a local lakeFS, until Ctrl-C.
airflow-stack: $(VENV)/.installed lakefs postgres
	$(BIN)/python -m tools.airflow_stack run
dagster-stack: $(VENV)/.installed lakefs
	$(BIN)/python -m tools.dagster_stack run

# lakeFS with its web UI compiled in (needs Node.js and npm), for the demo; cached in ~/.cache/lakefs-wap.
lakefs-ui: $(VENV)/.installed lakefs
	$(BIN)/python -m tools.lakefs_webui build

# lakeFS and MinIO binaries (built once with Go, cached in ~/.cache/lakefs-wap) and PostgreSQL.
lakefs-s3: $(VENV)/.installed postgres
	$(BIN)/python -m tools.lakefs_server --backend s3 build

# PostgreSQL's server from Debian packages, only when none is found.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
postgres: $(VENV)/.installed
	@$(BIN)/python -c 'from tools.postgres import server_bindir; server_bindir()' 2>/dev/null || { \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; }

$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade uv
	$(BIN)/uv pip install --python $(BIN)/python --constraint $(LOCK) --editable '.[dev,e2e]'
	touch $@

$(LOWER_VENV)/.installed: pyproject.toml $(LOWER_LOCK) | $(VENV)/.installed
	@test -n "$(LOWER_PYTHON)" || { echo "make test-lower needs Python 3.10: python3.10 on PATH, or LOWER_PYTHON=<path>"; exit 1; }
	test -x $(LOWER_BIN)/python || $(BIN)/uv venv --quiet --python $(LOWER_PYTHON) $(LOWER_VENV)
	$(BIN)/uv pip install --python $(LOWER_BIN)/python --constraint $(LOWER_LOCK) --editable '.[dev]'
	touch $@

lock-lower: $(VENV)/.installed
	$(BIN)/uv pip compile --python-version 3.10 --resolution lowest-direct --extra dev \
		--constraint requirements-lower.in --exclude-newer $(LOWER_AIRFLOW_DAY) \
		$(foreach package,$(LOWER_EXEMPT),--exclude-newer-package $(package)=2100-01-01) \
		--no-header --output-file $(LOWER_LOCK) pyproject.toml

lock: $(VENV)/.installed
	$(BIN)/uv pip compile --python $(BIN)/python --extra dev --extra e2e --universal --python-version 3.10 \
		--no-header --output-file $(LOCK) pyproject.toml

clean:
	rm -rf $(VENV) $(LOWER_VENV) .pytest_cache .mypy_cache .ruff_cache
