# The two set-up commands (make run, make test) need only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

HOST ?= 127.0.0.1
PORT ?= 8000
# The demo calls its own API on this machine (/demo-api/), over plain http.
RUN_ENV := DEBUG=true WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 DEMO_BASE_URL=http://$(HOST):$(PORT)
# Two workers: the suite is safe in parallel (each xdist worker gets its own test database,
# tests bind port 0); extra arguments: make test PYTEST_ARGS="-k whitelist".
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2

.PHONY: run serve test lint bench

# The worker starts once the site answers: the demo's queued calls go to the site's /demo-api/.
define WAIT_FOR_SITE
import sys, time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        break
    except OSError:
        time.sleep(0.5)
endef
export WAIT_FOR_SITE

# Refuse to start beside another server on the same port: the worker would serve that one's demo.
define PORT_FREE
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
with socket.socket() as probe:
    if probe.connect_ex((host, port)) == 0:
        sys.exit(f"{host}:{port} is in use: stop what serves it, or run make run PORT=<another port>.")
endef
export PORT_FREE

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	@$(BIN)/python -c "$$PORT_FREE" $(HOST) $(PORT)
	mkdir -p var
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py createcachetable
	$(RUN_ENV) $(BIN)/python manage.py seed_demo
	@trap 'kill 0' INT TERM EXIT; \
	$(RUN_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT) & \
	$(BIN)/python -c "$$WAIT_FOR_SITE" http://$(HOST):$(PORT)/login/ && \
	echo "Serving http://$(HOST):$(PORT)/ (log in as demo / demo-password) and the worker; Ctrl-C stops both." && \
	$(RUN_ENV) $(BIN)/python manage.py runworker

# Production on one machine (README "Production"): the settings come from the environment.
serve: $(STAMP)
	mkdir -p var
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python manage.py serve

test: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks
