# Two commands for a newcomer: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint unit integration e2e bench simulate fuzz build deploy openapi clean browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# Real-browser tests drive Debian's Chromium (Playwright's own download needs a CDN CI cannot reach).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

browser: $(CHROMIUM)

demo: $(STAMP)  ## start the local stack with a demo catalog; Ctrl-C stops it
	$(BIN)/afterglow local

test: lint $(STAMP) $(CHROMIUM)  ## lint, then every test (installs Chromium for the browser tests)
	$(BIN)/pytest -q

lint: $(STAMP)  ## ruff, mypy, cfn-lint and a stale-OpenAPI check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/afterglow openapi --check

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest -q tests/e2e

openapi: $(STAMP)  ## regenerate shared/afterglow/openapi.json after changing routes or models
	$(BIN)/afterglow openapi --write

bench: $(STAMP)  ## every performance figure against DESIGN.md's budgets; writes bench/results.json
	$(BIN)/afterglow bench
	$(BIN)/afterglow simulate --details --repeats 2 --png bench/learning-curve.png | tee bench/simulate.txt

simulate: $(STAMP)  ## the learning policy vs baselines on the held-out simulated worlds (a few minutes)
	$(BIN)/afterglow simulate --png bench/learning-curve.png

fuzz: $(STAMP)  ## a long schemathesis run against the local stack (make test runs a short one)
	FUZZ_EXAMPLES=200 FUZZ_PHASES=examples,coverage,fuzzing,stateful $(BIN)/pytest -q tests/e2e/test_fuzz_openapi.py

build:  ## build the layers and functions with the AWS SAM CLI (installed separately: keep it out of .venv)
	sam build

deploy: build  ## first time: guided deploy that records its answers in samconfig.toml
	sam deploy --guided

clean:
	rm -rf $(VENV) .afterglow .aws-sam .pytest_cache .mypy_cache .ruff_cache
