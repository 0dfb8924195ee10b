# casework — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install messages lint demo serve clean bench-slowlog bench-net bench-desk bench-scale

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) messages

## Compile the gettext catalogues shared by the desk and the CLI (.po -> .mo).
messages: $(STAMP)
	cd src/casework && ../../$(PY) -m django compilemessages --ignore=.venv -v 0

## Create .venv, install, migrate the embedded SQLite, load the demo if empty, serve on $(HOST):$(PORT).
run: install
	$(VENV)/bin/casework desk migrate
	$(VENV)/bin/casework desk demo --if-empty
	$(VENV)/bin/casework desk runserver $(HOST):$(PORT)

## Install and run the whole suite (unit, service, API, browser).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench

bench-slowlog: install
	$(PY) bench/slowlog_bench.py

bench-net: install
	$(PY) bench/http_timings_bench.py

bench-desk: install
	$(PY) bench/desk_routing_bench.py

bench-scale: install
	$(PY) bench/desk_scale_bench.py

clean:
	rm -rf $(VENV) build dist .pytest_cache src/*.egg-info
