# screenpop: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

# The example connector plugin in tests/ is installed too: the suite discovers it by entry point.
$(TEST_STAMP): $(BIN)/python pyproject.toml tests/plugins/example_connector/pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,dev]' -e tests/plugins/example_connector
	touch $@

demo: $(STAMP)
	$(BIN)/screenpop demo $(if $(PORT),--port $(PORT))

test: $(TEST_STAMP)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/python -m pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check screenpop connectors agent_ui screenpop_demo tests bench tools
	$(BIN)/ruff format --check screenpop connectors agent_ui screenpop_demo tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

# The bench extra (matplotlib) draws the plots; `python -m bench --quick` runs without it.
$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/pip install --quiet -e '.[test,dev,bench]' -e tests/plugins/example_connector
	touch $@

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
