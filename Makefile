# The two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
# The distribution was called `reef` before it became `reef-bench`: a checkout installed then
# would keep both (two copies of the entry points, also through the src/reef.egg-info that
# the editable install left on the path). Removed if there, silently if not.
DROP_OLD := ($(PIP) uninstall -y reef >/dev/null 2>&1 || true) && rm -rf src/reef.egg-info

.PHONY: demo test test-fast lint format clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Core Reef has no ONNX Runtime: the demo installs the CPU build through the `cpu` extra (one
# build only; `gpu` would install onnxruntime-gpu instead). The dev extras hold it too.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(DROP_OLD)
	$(PIP) install -e '.[cpu]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(DROP_OLD)
	$(PIP) install -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/reef demo

test: $(VENV)/.installed-dev browser
	$(BIN)/python -m pytest

# The report's browser test opens it in Debian's Chromium: installed here when missing and
# this user may (root with apt-get); otherwise that one test is skipped locally (CI fails it).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the report's browser test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "note: no chromium here; the report's browser test will be skipped"; \
	fi

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/ruff format --check src tests benchmarks tools
	$(BIN)/mypy src
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests benchmarks tools
	$(BIN)/ruff check --fix src tests benchmarks tools

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
