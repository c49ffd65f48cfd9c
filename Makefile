# Saldo — the two commands: `make run` and `make test`.
#
# Both create .venv on first use and install the locked dev requirements (requirements-dev.txt: every package
# pinned with its hashes) with uv, bootstrapped by pip. Without DATABASE_URL both run on an embedded PostgreSQL
# under var/ (config/embedded_postgres.py) that they start and stop themselves.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
UV := $(BIN)/uv
# Runs a command with the embedded PostgreSQL up (only when DATABASE_URL is unset).
WITH_DB := $(PY) -m config.embedded_postgres
# Some machines set PYTHONDONTWRITEBYTECODE: every process would then compile Django anew (4-5 s a start).
unexport PYTHONDONTWRITEBYTECODE
LOCK := $(UV) pip compile --quiet --generate-hashes --python-version 3.11 --custom-compile-command "make lock"

.PHONY: run test install install-dev lock lint format clean

$(UV): requirements-bootstrap.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -qq --disable-pip-version-check --require-hashes -r requirements-bootstrap.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(UV)
	@$(UV) pip sync --quiet --python $(PY) --require-hashes requirements-dev.txt
	@touch $@

## install: the runtime lock only (what production runs); install-dev: runtime + development.
install: $(UV)
	@$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements.txt

install-dev: $(VENV)/.installed-dev

## make run: migrate, seed the demo data, then runserver + Celery worker + beat (Procfile.dev) on the embedded
## PostgreSQL and a file-system broker under var/. One Ctrl-C stops everything, the database included.
run: install-dev
	@DJANGO_SETTINGS_MODULE=config.settings.local $(WITH_DB) -- sh -c \
		'$(PY) -m config.dev_setup && exec $(BIN)/honcho start -f Procfile.dev'

## make test: lint, format check and type check, then the whole pytest suite (the embedded PostgreSQL unless
## DATABASE_URL is set).
test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	DJANGO_SETTINGS_MODULE=config.settings.test $(BIN)/pytest $(PYTEST_ARGS)

## make lock: re-resolve requirements*.in into the hashed locks after changing a pin.
lock: $(UV)
	$(LOCK) requirements-bootstrap.in -o requirements-bootstrap.txt
	$(LOCK) requirements.in -o requirements.txt
	$(LOCK) requirements-dev.in -c requirements.txt -c requirements-bootstrap.txt -o requirements-dev.txt

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
