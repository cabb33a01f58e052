# Two entry points for a fresh machine (see README): `make app` and `make test`.
# Both create/reuse .venv, install requirements.txt (torch, torchvision, timm and transformers pinned together) and the
# project itself in editable mode (pyproject.toml; setuptools comes with the requirements, so no build isolation);
# `make test` also installs requirements-dev.txt (the peers that bench/peers.py measures, and ruff) and runs ruff
# (lint and import order, configured in pyproject.toml) before the tests.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: app test browser clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(DEV_STAMP)

app: $(STAMP)
	STREAMLIT_BROWSER_GATHER_USAGE_STATS=false $(VENV)/bin/streamlit run app.py --server.headless true

# Debian's Chromium for the real-browser test: installed when missing and we are root with apt; otherwise the
# browser test skips with a reason (under CI=true it fails instead).
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian chromium for the browser test"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

test: $(DEV_STAMP) browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
