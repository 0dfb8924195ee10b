# casework — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install messages lint demo serve clean screenshots bench-slowlog bench-net bench-desk bench-scale

SPEEDUPS := src/casework/diagnostics/slowlog/_speedups.c

$(STAMP): requirements.lock pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP) $(VENV)/.speedups

# The optional C speedups are built in place by the editable install; rebuild them when their source changes.
$(VENV)/.speedups: $(SPEEDUPS) | $(STAMP)
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

install: $(STAMP) $(VENV)/.speedups messages

## Compile the gettext catalogues shared by the desk and the CLI (.po -> .mo).
messages: $(STAMP)
	cd src/casework && ../../$(PY) -m django compilemessages --ignore=.venv -v 0

## Create .venv, install, migrate the embedded SQLite, load the demo if empty, serve on $(HOST):$(PORT).
run: install
	$(VENV)/bin/casework desk migrate
	$(VENV)/bin/casework desk demo --if-empty
	$(VENV)/bin/casework desk runserver $(HOST):$(PORT)

PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

## Install and run the whole suite (unit, service, API, browser) on SQLite, then the desk's database tests
## again on PostgreSQL (always in CI, where a missing PostgreSQL fails the run; elsewhere when it is reachable).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)
	@if [ "$$CI" = "true" ] || pg_isready -h 127.0.0.1 -q 2>/dev/null; then \
	  echo "== desk tests on PostgreSQL ($(PG_URL)) =="; \
	  DATABASE_URL=$(PG_URL) $(PY) -m pytest -m "desk and not browser" $(PYTEST_ARGS); \
	else echo "PostgreSQL is not reachable here: the desk tests on PostgreSQL were not run (CI runs them)."; fi

## Retake the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: install
	CASEWORK_SCREENSHOTS=1 $(PY) -m pytest -m browser $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check src tests bench

## Slow logs vs pt-query-digest and pgbadger (Debian: apt-get install percona-toolkit pgbadger), then MongoDB vs
## mloginfo (PyPI mtools, in a venv of its own: it pins old dependencies).
bench-slowlog: install .venv-mtools/bin/mloginfo
	$(PY) bench/slowlog_bench.py
	$(PY) bench/slowlog_mongodb_bench.py --mloginfo .venv-mtools/bin/mloginfo

.venv-mtools/bin/mloginfo:
	$(PYTHON) -m venv .venv-mtools || python3 -m venv .venv-mtools
	.venv-mtools/bin/pip install -q mtools==1.7.2 python-dateutil

bench-net: install
	$(PY) bench/http_timings_bench.py

bench-desk: install
	$(PY) bench/desk_routing_bench.py

bench-scale: install
	$(PY) bench/desk_scale_bench.py

clean:
	rm -rf $(VENV) build dist .pytest_cache src/*.egg-info
