# sidislab — make targets. `make test` and `make run` create the environment when it is
# missing (.venv with pip; torch pinned to a CPU build that lies on this machine's disk).

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
TORCH   ?= torch==2.13.0
STAMP   := $(VENV)/.installed
PARAMS  ?=
PYTEST_ARGS ?=
PYTEST_JOBS ?= auto
# Scripts the HTML reports load from reports/_static instead of a CDN (MathJax comes from
# the jupyter-server-mathjax wheel): npm tarballs, unpacked into the venv.
WEB       := $(VENV)/share/sidislab/web
WEB_STAMP := $(WEB)/.installed
NPM_WEB   := requirejs@2.3.8 @jupyter-widgets/html-manager@1.0.15

.PHONY: venv test test-slow run report baselines demo lab bench data lint format clean-cache

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[notebooks,data,dev,dask,validation]"
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

$(WEB_STAMP): | $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  rm -rf $(WEB) && mkdir -p $(WEB) && cd $(WEB) && \
	  npm pack --silent $(NPM_WEB) >/dev/null && mkdir requirejs html-manager && \
	  tar xzf requirejs-*.tgz -C requirejs --strip-components=1 package/require.js package/package.json && \
	  tar xzf jupyter-widgets-html-manager-*.tgz -C html-manager --strip-components=1 package/dist package/package.json && \
	  rm -f ./*.tgz && touch .installed \
	  || echo "warning: npm pack $(NPM_WEB) failed: report pages load require.js from the CDN"; \
	else echo "note: npm is absent: report pages load require.js and the widget manager from the CDN (apt-get install -y npm)"; fi

venv: $(STAMP) $(WEB_STAMP)

## The README's test command: every test that can run here but those marked slow, on all
## cores (pytest-xdist; notebook and browser tests included; apfel/lhapdf tests skip where
## those modules are absent). `make test-slow` runs the slow ones (.ci/run runs both).
test: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_JOBS) -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) $(WEB_STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_JOBS) -m slow $(PYTEST_ARGS)

## `make run` is the report job: every notebook executed headless into reports/.
run: report

report: $(STAMP) $(WEB_STAMP)
	$(BIN)/sidislab report $(PARAMS)

baselines: $(STAMP) $(WEB_STAMP)
	$(BIN)/sidislab report --update-baselines

demo: $(STAMP)
	$(BIN)/sidislab integrate-demo

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

data: $(STAMP)
	$(BIN)/python scripts/make_kinematics.py
	$(BIN)/python scripts/make_sets.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean-cache: $(STAMP)
	$(BIN)/sidislab lumi clear
