# sopflow: `make run` starts the demo, `make test` runs every test. Both set up .venv first.

HOST ?= 127.0.0.1
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
# pip runs again only when a requirements file is newer than this stamp.
STAMP := $(VENV)/.requirements-installed
REQUIREMENTS := requirements.txt requirements-dev.txt
# python3.11 when there is one, otherwise python3; `make PYTHON=python3.12 …` picks another.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)

.DEFAULT_GOAL := help
.PHONY: help install run test test-sqlite test-browser lint bench bench-scale clean messages

help:
	@echo "make run           set up, migrate, load the demo data, serve on http://$(HOST):$(PORT)/"
	@echo "                   with the task workers and the scheduler (Ctrl-C stops them all)"
	@echo "make test          the whole test suite (unit, views, PDF, browser) on both cores"
	@echo "make test-sqlite   the SQLite slice CI runs besides the whole suite on PostgreSQL"
	@echo "make test-browser  only the browser tests (Chromium at /usr/bin/chromium)"
	@echo "make lint          ruff check, ruff format --check, makemigrations --check, mypy"
	@echo "make bench         the benchmarks in bench/ (PDF, import, statistics, sweep)"
	@echo "make bench-scale   pages, transitions, the sweep and the exports at RUNS runs (default"
	@echo "                   100000) over 50 units and in BIG_UNITS units of 50,000 runs, on DATABASE_URL"
	@echo "make clean         remove .venv, caches, collected static files and test artifacts"

$(PY):
	@if [ -z "$(PYTHON)" ] || ! "$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
		echo "sopflow needs Python 3.11 or newer: install python3.11, or run 'make PYTHON=/path/to/python3.11 ...'" >&2; \
		echo "found: $(or $(PYTHON),no python3) $$($(or $(PYTHON),false) --version 2>&1)" >&2; \
		exit 1; \
	fi
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(REQUIREMENTS) | $(PY)
	$(PY) -m pip install --disable-pip-version-check --quiet -r requirements-dev.txt
	@touch $@

install: $(STAMP)

# `make run` signs archived laporan with a demo certificate, made once (marked as a demo in its
# name); set SOPFLOW_SIGNING_PKCS12 and SOPFLOW_SIGNING_PASSWORD to use an office's own.
run: export SOPFLOW_SIGNING_PKCS12 ?= $(CURDIR)/var/demo-signer.p12
run: export SOPFLOW_SIGNING_PASSWORD ?= sopflow-demo
# Every signature gets a trusted timestamp from a demo timestamp authority run_all serves
# (marked as a demo in its name), unless SOPFLOW_TSA_URL names a real one.
TSA_PORT ?= 8119
ifeq ($(origin SOPFLOW_TSA_URL),undefined)
run: export SOPFLOW_DEMO_TSA_DIR = $(CURDIR)/var/demo-tsa
run: export SOPFLOW_TSA_URL = http://127.0.0.1:$(TSA_PORT)/tsa
run: export SOPFLOW_TSA_TRUST_ROOTS = $(CURDIR)/var/demo-tsa/root.pem
endif
# The address QR codes and mails carry: the server's own, unless set.
run: export SITE_URL ?= http://$(HOST):$(PORT)
# The demo officials sign their laporan with demo TTE certificates (passphrase sopflow-demo).
run: export SOPFLOW_TTE_SERVICE ?= pkcs12
run: export SOPFLOW_TTE_PKCS12_DIR ?= $(CURDIR)/var/demo-tte
run: $(STAMP)
	$(PY) manage.py make_demo_certificate --output $(CURDIR)/var/demo-signer.p12 --password sopflow-demo
	@if [ -n "$$SOPFLOW_DEMO_TSA_DIR" ]; then $(PY) manage.py demo_tsa --folder "$$SOPFLOW_DEMO_TSA_DIR" --init-only; fi
	$(PY) manage.py migrate --no-input
	@if ! command -v msgfmt >/dev/null 2>&1; then \
		echo "msgfmt not found: using the committed translations (.mo files)"; \
	elif [ -d locale ]; then \
		echo "$(PY) manage.py compilemessages"; \
		$(PY) manage.py compilemessages --ignore=$(VENV) --verbosity=0; \
	fi
	$(PY) manage.py seed_demo
	$(PY) manage.py make_demo_signers --passphrase sopflow-demo
	$(PY) manage.py run_all $(HOST):$(PORT)

# pyproject.toml's addopts run the tests on both cores (pytest-xdist) and print the 20
# slowest; `make test PYTEST_ARGS=-n0` runs them in one process.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Always on SQLite, whatever DATABASE_URL says.
test-sqlite: $(STAMP)
	env -u DATABASE_URL $(PY) -m pytest -m sqlite $(PYTEST_ARGS)

test-browser: $(STAMP)
	$(PY) -m pytest -m browser $(PYTEST_ARGS)

# The modules mypy checks (settings in pyproject.toml): their own code strictly, the modules they
# import only for the types those give.
TYPED := \
	activities/authoring/steps.py \
	activities/core/policy.py \
	activities/core/workflow.py \
	activities/core/payloads.py \
	activities/core/stages.py \
	activities/time/calendar.py \
	activities/time/deadlines.py \
	activities/time/durations.py \
	activities/time/timing.py \
	activities/documents/signing.py \
	activities/notifications/channels.py

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m mypy $(TYPED)

bench: $(STAMP)
	@failed=""; \
	for script in bench/*.py; do \
		[ -e "$$script" ] || { echo "no benchmarks in bench/"; break; }; \
		case "$$script" in bench/scale*|bench/http_*) continue;; esac; \
		echo "== $$script"; \
		PYTHONPATH=$(CURDIR) $(PY) $$script || failed="$$failed $$script"; \
	done; \
	if [ -n "$$failed" ]; then echo "failed:$$failed" >&2; exit 1; fi

# Builds the database once (seed_scale adds runs until it holds RUNS), then measures in
# process and over HTTP (gunicorn + wrk). Use a database of its own for each size, e.g.
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/sopflow_bench_100k make bench-scale
RUNS ?= 100000
BIG_UNITS ?= 1
bench-scale: $(STAMP)
	PYTHONPATH=$(CURDIR) $(PY) bench/scale.py --runs $(RUNS) --big-units $(BIG_UNITS)
	if [ "$(BIG_UNITS)" -gt 0 ]; then \
		PYTHONPATH=$(CURDIR) $(PY) bench/scale.py --runs $(RUNS) --unit Besar001 --no-sweep; fi
	PYTHONPATH=$(CURDIR) $(PY) bench/scale_http.py --runs $(RUNS)

# The English catalogue: collects new msgids into locale/en/LC_MESSAGES/django.po, then compiles
# it. Translate the new (empty or fuzzy) entries and run it again; commit the .po and the .mo.
messages: $(STAMP)
	$(PY) manage.py makemessages -l en --ignore=$(VENV) --ignore=bench --ignore=tests --ignore=staticfiles --no-obsolete
	$(PY) manage.py compilemessages --ignore=$(VENV)

# db.sqlite3 and media/ hold your local data and stay.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache staticfiles test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
