# The two commands: `make run` (set up, migrate, seed, serve) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000
SHARED_DIR ?= ../shared
AMAP_FILE := $(SHARED_DIR)/data/hangzhou_amap_poi.geojson
FLASK := $(VENV)/bin/flask --app wsgi
# The resident app (mobile_api/web, Vue + Vite): needs Node 20 and npm. Built again when its
# sources, its lockfile or the GraphQL documents it imports change.
WEB := mobile_api/web
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public -type f 2>/dev/null) \
	$(wildcard $(WEB)/*.html $(WEB)/*.config.js) $(WEB)/package.json $(wildcard graphql/operations/*.graphql)
export PORT

# `make run` signs in like the Firebase Auth emulator: firebase-admin accepts unsigned tokens
# (`.venv/bin/python -m backend.accounts.dev_token --uid alice`). Only for `run`, never in
# production (which refuses to start with it) and never for the tests.
ifneq ($(APP_ENV),production)
run: export FIREBASE_PROJECT_ID ?= demo-servicemap
run: export FIREBASE_AUTH_EMULATOR_HOST ?= 127.0.0.1:9099
endif

.PHONY: run test install install-dev lint schema manifest clean-db web test-web bench bench-quick bench-dispatch bench-soak

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(WEB)/node_modules/.installed: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund
	touch $@

$(WEB)/dist/.built: $(WEB)/node_modules/.installed $(WEB_SOURCES)
	cd $(WEB) && npm run build
	touch $@

web: $(WEB)/dist/.built

run: install web
	$(FLASK) db upgrade
	$(FLASK) seed demo $(if $(wildcard $(AMAP_FILE)),--amap-file $(AMAP_FILE))
	$(VENV)/bin/gunicorn --bind 127.0.0.1:$(PORT) wsgi:app

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# Vitest (the app's own logic), then pytest, whose tests/web drive the built app in chromium.
test: lint web
	cd $(WEB) && npm test
	$(VENV)/bin/pytest -q

# Reprint graphql/schema.graphql from the code (the snapshot test fails when they drift).
schema: install
	$(VENV)/bin/python -m backend.schema.print > graphql/schema.graphql

# The ids of the trusted documents (sha256 of each graphql/operations/*.graphql).
manifest: install
	$(VENV)/bin/python -c "from mobile_api.graphql.trusted import manifest; print(manifest(), end='')" > graphql/operations/manifest.json

clean-db:
	rm -f instance/servicemap.sqlite3 instance/servicemap.sqlite3-wal instance/servicemap.sqlite3-shm

# Benchmarks (bench/README.md): 10k, 100k and 1M places on SQLite and PostGIS, beside raw SQL
# and PostGraphile; bench/run.py installs what it needs (bench/requirements.txt, wrk, npm).
bench: install
	$(VENV)/bin/python bench/run.py --plan full --profile --record

# The same at 10k only with short runs: under 2 minutes once the tools are installed.
bench-quick: install
	$(VENV)/bin/python bench/run.py --plan quick

# Push dispatch through the fake FCM against a bare send_each loop, both stores: ~3 minutes.
bench-dispatch: install
	$(VENV)/bin/python bench/dispatch.py --record

# 10 minutes of mixed traffic at 70 % of capacity on PostgreSQL, rate limits on (Redis), and a
# PostgreSQL restart half way: ~12 minutes (bench/README.md, "Soak").
bench-soak: install
	$(VENV)/bin/python bench/soak.py --record
