# lexprep: `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_DB ?= sqlite:///demo.db

.PHONY: demo test install system-deps bench clean deploy

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# the default (local) profile and the demo's PDF writer
$(VENV)/.installed-local: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[local,demo]"
	touch $@

# everything the tests exercise (cloud clients, Postgres, S3, the tiny torch models)
$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed-local

# Debian tools of the local profile: tesseract (OCR), ffmpeg, and the legacy-format converters (.doc:
# antiword, WordPerfect: wpd2text). Without them those files wait as needs_ocr or are recorded
# `unsupported`, naming the tool. Needs root (or sudo).
system-deps:
	@if command -v apt-get >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    tesseract-ocr tesseract-ocr-eng ffmpeg antiword libwpd-tools >/dev/null; \
	else echo "no apt-get: install tesseract-ocr, ffmpeg, antiword and libwpd-tools (wpd2text) yourself"; fi

demo: $(VENV)/.installed-local
	rm -rf demo_matter demo_out demo.db
	$(BIN)/lexprep demo-matter demo_matter
	$(BIN)/lexprep run demo_matter --matter demo --db $(DEMO_DB)
	$(BIN)/lexprep export --matter demo --db $(DEMO_DB) --out demo_out

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-local
	$(BIN)/python bench/bench_born_digital.py

clean:
	rm -rf demo_matter demo_out demo.db lexprep.db .pytest_cache

# Set up the Prefect API in PREFECT_API_URL (work pools, tag concurrency and rate limits, block types;
# idempotent) and deploy prefect.yaml. Deploys every deployment whose entrypoint file exists, except the
# docker one unless DEPLOY_DOCKER=1 (its build needs a Docker engine and prefect-docker). Run a worker
# with: $(BIN)/prefect worker start --pool lexprep-local
DEPLOY_DOCKER ?=
export LEXPREP_NIGHTLY_S3_PREFIX ?= s3://lexprep-matters/inbox/
export LEXPREP_NIGHTLY_MATTER ?= nightly
export LEXPREP_IMAGE ?= lexprep
deploy: install
	@test -n "$$PREFECT_API_URL" || { echo "deploy: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)" >&2; exit 2; }
	$(BIN)/python -m lexprep_prefect.deployments.bootstrap setup
	names="$$($(BIN)/python -m lexprep_prefect.deployments.bootstrap names $(if $(DEPLOY_DOCKER),--with-docker))" && \
	  $(BIN)/python -m lexprep_prefect.deployments.cli --no-prompt deploy $$(printf -- '-n %s ' $$names)
