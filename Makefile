# Stepwise: `make run` starts the app on SQLite with demo users; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := web:create_app

.PHONY: run test venv assets lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

assets: venv node_modules/.package-lock.json
	$(BIN)/python -m web.assets

run: venv assets
	$(BIN)/stepwise db upgrade
	$(BIN)/stepwise deploy processes
	$(BIN)/stepwise demo --cases
	$(BIN)/stepwise run --host 127.0.0.1 --port 5000

# The suite runs on SQLite, then again on PostgreSQL when STEPWISE_TEST_POSTGRES_URL is set (.ci/run sets it).
test: venv assets
	$(BIN)/pytest -q
	@if [ -n "$$STEPWISE_TEST_POSTGRES_URL" ]; then \
		echo "== PostgreSQL =="; \
		STEPWISE_TEST_DATABASE_URL="$$STEPWISE_TEST_POSTGRES_URL" $(BIN)/pytest -q -m "not sqlite_only"; \
	fi

lint: venv
	$(BIN)/ruff check engine web tests bench

bench: venv
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) node_modules instance web/static/vendor
