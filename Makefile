# lexprep: `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_DB ?= sqlite:///demo.db

.PHONY: demo test install system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test,demo]"
	touch $@

install: $(VENV)/.installed

# Optional converters for legacy formats (.doc: antiword, WordPerfect: wpd2text). Without them those
# files are recorded `unsupported`, naming the tool. Needs root (or sudo).
system-deps:
	@if command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq antiword libwpd-tools >/dev/null; \
	else echo "no apt-get: install antiword and libwpd-tools (wpd2text) yourself"; fi

demo: install
	rm -rf demo_matter demo_out demo.db
	$(BIN)/lexprep demo-matter demo_matter
	$(BIN)/lexprep run demo_matter --matter demo --db $(DEMO_DB)
	$(BIN)/lexprep export --matter demo --db $(DEMO_DB) --out demo_out

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python bench/bench_born_digital.py

clean:
	rm -rf demo_matter demo_out demo.db lexprep.db .pytest_cache
