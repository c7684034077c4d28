# Two commands matter: `make run` (serve on http://localhost:5000) and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.deps-stamp
MO := authsvc/translations/zh/LC_MESSAGES/messages.mo

.PHONY: run dev-certs test translations extract-messages fuzz fuzz-ci bench seed-scale scale-probe cluster-test browser-test screenshots clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

$(MO): authsvc/translations/zh/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile -d authsvc/translations

translations: $(MO)

# make run RUN_PORT=5001 when 5000 is taken. `exec`: the SIGTERM make passes on when it is
# stopped reaches the server itself (not only its shell), which then stops its embedded Redis.
RUN_PORT ?= 5000

run: $(STAMP) $(MO)
	AUTHSVC_ENV=$${AUTHSVC_ENV:-development} $(VENV)/bin/flask --app wsgi db upgrade
	exec env AUTHSVC_ENV=$${AUTHSVC_ENV:-development} PUBLIC_URL=$${PUBLIC_URL:-http://localhost:$(RUN_PORT)} $(VENV)/bin/flask --app wsgi run --host localhost --port $(RUN_PORT)

# A self-signed certificate for trying docker-compose's HTTPS on this machine (browsers warn: it
# vouches for nobody). Production puts its real chain and key there instead (README).
CERTS ?= certs

dev-certs:
	@mkdir -p $(CERTS)
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
	  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	  -keyout $(CERTS)/privkey.pem -out $(CERTS)/fullchain.pem 2>/dev/null
	@chmod 600 $(CERTS)/privkey.pem
	@echo "$(CERTS)/fullchain.pem and $(CERTS)/privkey.pem: self-signed for localhost, 30 days"

test: $(STAMP) $(MO)
	$(PY) -m pytest $(PYTEST_ARGS)

# Schemathesis against every /api/v1 operation (tests/fuzz; embedded Redis and SQLite in tmp
# dirs). FUZZ_BUDGET = examples per operation; FUZZ_SEED=N for another fixed set of cases.
# fuzz-ci is the bounded run .ci/run does (about a minute); fuzz explores longer.
FUZZ_CI_BUDGET ?= 10
FUZZ_LONG_BUDGET ?= 200

fuzz-ci: $(STAMP) $(MO)
	env -u REDIS_URL -u DATABASE_URL FUZZ_BUDGET=$(FUZZ_CI_BUDGET) $(PY) -m pytest tests/fuzz $(PYTEST_ARGS)

fuzz: $(STAMP) $(MO)
	env -u REDIS_URL -u DATABASE_URL FUZZ_BUDGET=$(FUZZ_LONG_BUDGET) $(PY) -m pytest tests/fuzz $(PYTEST_ARGS)

# Real-browser tests only (also part of `make test`): Debian's /usr/bin/chromium driven by
# Playwright; gunicorn + a mail-worker + aiosmtpd + embedded Redis + SQLite in a tmp dir.
# Without Chromium: apt-get install -y chromium (never `playwright install`).
browser-test: $(STAMP) $(MO)
	$(PY) -m pytest tests/browser $(PYTEST_ARGS)

# PNGs of the main pages at 390 px and 1280 px into docs/screenshots/ (on demand, not in CI).
# Chinese needs a CJK font: apt-get install -y fonts-noto-cjk
screenshots: $(STAMP) $(MO)
	$(PY) -m pytest tests/browser/screenshots.py $(PYTEST_ARGS)

extract-messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o messages.pot .
	$(VENV)/bin/pybabel update -i messages.pot -d authsvc/translations --no-fuzzy-matching
	@rm -f messages.pot

# Load and latency benchmarks against Flask-Security-Too: one table, raw figures in bench/out/.
bench: $(STAMP) $(MO)
	bash bench/setup.sh
	$(PY) bench/run.py

# Issue 16's scale database: a fresh PostgreSQL database SCALE_DB (dropped first!) with
# SCALE_USERS accounts and SCALE_AUDIT audit events, filled by COPY and migrated to head (the
# timings go to bench/out/seed_<db>.json); scale-probe measures it (bench/RESULTS.md, "Scale").
SCALE_DB ?= scale
SCALE_USERS ?= 1000000
SCALE_AUDIT ?= 10000000
SCALE_PARTS ?= queries flows csv prune capacity

seed-scale: $(STAMP)
	SCALE_DB=$(SCALE_DB) SCALE_USERS=$(SCALE_USERS) SCALE_AUDIT=$(SCALE_AUDIT) $(PY) -W ignore bench/seed_scale.py

scale-probe: $(STAMP) $(MO)
	SCALE_DB=$(SCALE_DB) $(PY) -W ignore bench/scale_probe.py $(SCALE_PARTS)

# The production shape on localhost: 3 gunicorn instances + 2 mail workers against the Redis
# (127.0.0.1:6379, db 12) and PostgreSQL (127.0.0.1:5432) already running here.
cluster-test: $(STAMP) $(MO)
	$(PY) -m pytest tests/cluster $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
