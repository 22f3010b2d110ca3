# Every target creates and uses the local virtualenv; nothing relies on a hand-made install.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := pcscd libpcsclite-dev vsmartcard-vpcd opensc pcsc-tools fonts-noto-cjk fonts-hanazono postgresql chromium openssl

.PHONY: all venv system-deps test test-fast lint run bench schema clean

all: test

# pyscard builds from source and needs libpcsclite-dev; as root, install the PC/SC stack when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root: cannot install$$missing; the PC/SC tier will skip"; fi; \
	fi

$(STAMP): pyproject.toml
	$(MAKE) system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Style contract first (ruff, mypy --strict, import rules: ~20 s), then one pytest run of the whole suite;
# tests/pcsc starts pcscd itself (root) and stops and reaps it.
test: $(STAMP) system-deps lint
	$(PY) -m pytest -q

# The pure and in-process tiers only: no pcscd, no root, seconds.
test-fast: $(STAMP)
	$(PY) -m pytest -q tests/unit tests/sim

lint: $(STAMP)
	$(VENV)/bin/ruff check cardsvc applets simulator devtools tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Every design §6 figure beside its ceiling/floor, then the robustness campaign (exit 1 on any failure);
# prints a table, writes bench/results/<timestamp>.json; ~6 min on 2 cores. Starts (and reaps) pcscd for its
# PC/SC paths unless one runs. Parts: `$(PY) -m bench MODE...`, smoke run: `$(PY) -m bench --quick`.
bench: $(STAMP) system-deps
	$(PY) -m bench

schema: $(STAMP)
	$(PY) -m cardsvc.layout.schema_export layouts/schema.json

# Dev service from a fresh clone: var/ registry, dev key ceremony (first run), two readers with blank cards
# (vpcd through pcscd when it can run, else in-process), sample applications; prints the URL and a token.
HOST ?= 127.0.0.1
PORT ?= 8000
run: $(STAMP) system-deps
	$(PY) -m cardsvc.cli serve --dev --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
