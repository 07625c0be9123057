# Two commands on a fresh machine: `make demo` and `make test` (see README).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app run
HOST ?= 127.0.0.1
PORT ?= 8080
DEMO_SIZE ?= small
DEMO_SEED ?= 1
PORTAL_PORT ?= 8090
export PORTAL_URL ?= http://127.0.0.1:$(PORTAL_PORT)/api/ediary
export PORTAL_SECRET ?= demo-portal-secret
MAIL_PORT ?= 8025
export SMTP_URL ?= smtp://127.0.0.1:$(MAIL_PORT)

.PHONY: install translations init demo serve test test-sqlite test-postgres lint bench clean

$(BIN)/activate: pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(BIN)/activate

install: $(BIN)/activate translations

translations: $(BIN)/activate
	$(BIN)/pybabel compile -d translations -f --statistics

init: install
	$(FLASK) school init

# The demo also runs the portal simulator, a local mail sink (instance/mail/) and the exchange job, so
# «Обмен с порталом» shows real traffic and deliveries by e-mail can be read.
demo: init
	$(FLASK) school demo --size $(DEMO_SIZE) --seed $(DEMO_SEED)
	$(FLASK) exchange sync
	@echo "Электронный журнал: http://$(HOST):$(PORT)/  (Ctrl+C — остановить)"
	@echo "Симулятор портала: $(PORTAL_URL); задание обмена работает в фоне"
	@echo "Почта семьям (SMTP_URL=$(SMTP_URL)): instance/mail/ (mail.log и письма *.eml)"
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	$(BIN)/python -m app.exchange.simulator --host 127.0.0.1 --port $(PORTAL_PORT) --secret "$(PORTAL_SECRET)" \
		--schema-every 10 >>instance/portal-simulator.log 2>&1 & \
	$(BIN)/python -m app.exchange.mailsink --host 127.0.0.1 --port $(MAIL_PORT) --dir instance/mail \
		>>instance/mailsink.log 2>&1 & \
	sleep 1; $(FLASK) exchange run >>instance/exchange.log 2>&1 & \
	$(FLASK) run --host $(HOST) --port $(PORT)

serve: install
	$(FLASK) run --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then on PostgreSQL when TEST_POSTGRES_URL is set (.ci/run sets it), each
# spread over TEST_WORKERS processes with a database of their own (the two legs side by side were slower:
# four processes on two cores). Browser tests and the modules marked `any_database` (nothing in them
# depends on the database) run on SQLite only.
# Compiled modules are kept (a PYTHONDONTWRITEBYTECODE in the environment would make every process, the
# PostgreSQL leg's workers and the CLI/gunicorn subprocesses included, compile the app and re-rewrite the
# asserts of every test module again: ~4 s CPU per process).
TEST_WORKERS ?= 2
unexport PYTHONDONTWRITEBYTECODE
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)
test: install
	$(PYTEST)
	@if [ -n "$$TEST_POSTGRES_URL" ]; then \
		echo "== PostgreSQL =="; TEST_DATABASE_URL="$$TEST_POSTGRES_URL" $(PYTEST) -m "not browser and not any_database"; \
	else echo "TEST_POSTGRES_URL is not set: PostgreSQL run skipped (.ci/run sets it)"; fi

# Speed and size, measured (never asserted by tests): demo load time, journal page and save,
# school-wide results statistics of a period, extract printing (class batch vs single extracts),
# many teachers at once behind gunicorn on PostgreSQL, the exchange job against the simulator, and a
# district of 20 schools on one PostgreSQL against the demo school alone.
bench: install
	$(BIN)/python bench/bench_journal.py
	$(BIN)/python bench/bench_stats.py
	$(BIN)/python bench/bench_extracts.py
	$(BIN)/python bench/bench_load.py
	$(BIN)/python bench/bench_exchange.py
	$(BIN)/python bench/bench_district.py

lint: install
	$(BIN)/ruff check app tests config.py run.py

clean:
	rm -rf $(VENV) instance translations/*/LC_MESSAGES/*.mo
