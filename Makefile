# lexprep: `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu machine with Python 3.11+
# (the Debian tools too, when apt-get is usable: as root or through passwordless sudo; otherwise they say
# what they skip).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_DB ?= sqlite:///demo.db

.PHONY: demo test install system-deps bench clean deploy

$(BIN)/python:
	@PYTHON=$(PYTHON) scripts/system-deps venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# the default (local) profile, s3:// sources (the nightly deployment) and the demo's PDF writer
$(VENV)/.installed-local: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[local,s3,demo]"
	touch $@

# everything the tests exercise (cloud clients, Postgres, S3, the tiny torch models)
$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test]"
	touch $@

install: $(VENV)/.installed-local

# Debian tools of the local profile: tesseract (OCR), ffmpeg, and the legacy-format converters (.doc:
# antiword, WordPerfect: wpd2text); `make test` adds postgresql, ocrmypdf, espeak-ng, fonts-dejavu-core
# and git. Installed when missing and apt-get is usable (root or passwordless sudo); otherwise the
# script says what is skipped (those files wait as needs_ocr or are recorded unsupported, naming the tool).
system-deps:
	@scripts/system-deps test

demo: $(VENV)/.installed-local
	@scripts/system-deps demo
	rm -rf demo_matter demo_out demo.db
	$(BIN)/lexprep demo-matter demo_matter
	$(BIN)/lexprep run demo_matter --matter demo --db $(DEMO_DB)
	$(BIN)/lexprep export --matter demo --db $(DEMO_DB) --out demo_out

test: $(VENV)/.installed-test
	@scripts/system-deps test
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-local
	$(BIN)/python bench/bench_born_digital.py

clean:
	rm -rf demo_matter demo_out demo.db lexprep.db .pytest_cache

# Set up the Prefect API in PREFECT_API_URL (work pools, tag concurrency and rate limits, block types;
# idempotent) and deploy prefect.yaml: every deployment whose deploy-time variables are set, except the
# docker one unless DEPLOY_DOCKER=1 (its build needs a Docker engine and prefect-docker). Workers clone
# LEXPREP_GIT_REPOSITORY at LEXPREP_GIT_BRANCH (default: this checkout's origin, else its path, and its
# branch); nightly-s3 needs LEXPREP_NIGHTLY_S3_PREFIX and LEXPREP_NIGHTLY_MATTER. Run a worker with:
#   $(BIN)/prefect worker start --pool lexprep-local     (with LEXPREP_DB_URL in its environment)
DEPLOY_DOCKER ?=
export LEXPREP_GIT_REPOSITORY ?= $(shell git config --get remote.origin.url 2>/dev/null || git rev-parse --show-toplevel 2>/dev/null)
export LEXPREP_GIT_BRANCH ?= $(shell git symbolic-ref --quiet --short HEAD 2>/dev/null)
export LEXPREP_IMAGE ?= lexprep
deploy: install
	@test -n "$$PREFECT_API_URL" || { echo "deploy: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api)" >&2; exit 2; }
	$(BIN)/python -m lexprep_prefect.deployments.bootstrap setup
	names="$$($(BIN)/python -m lexprep_prefect.deployments.bootstrap names $(if $(DEPLOY_DOCKER),--with-docker))" && \
	  $(BIN)/python -m lexprep_prefect.deployments.cli --no-prompt deploy $$(printf -- '-n %s ' $$names)
