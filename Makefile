# Two commands matter: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO   := data/demo

.PHONY: demo demo-county test lint browser clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(DEMO)/manifest.json: $(STAMP) $(wildcard carecircle/demo/*.py)
	$(BIN)/carecircle demo-data --out $(DEMO) --size small

demo: $(DEMO)/manifest.json
	$(BIN)/carecircle run scenarios/demo.yaml

data/demo-county/manifest.json: $(STAMP) $(wildcard carecircle/demo/*.py)
	$(BIN)/carecircle demo-data --out data/demo-county --size county

# The same fictional county at full size (about 1,500 km², ~200k walk nodes).
demo-county: data/demo-county/manifest.json
	$(BIN)/carecircle run scenarios/demo-county.yaml

# Browser tests open the maps in Debian's chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests ..."; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check carecircle tests benchmarks
	$(BIN)/ruff format --check carecircle tests benchmarks
	$(BIN)/mypy

test: $(STAMP) browser lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
