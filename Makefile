# sidislab — make targets. `make test` and `make run` create the environment when it is
# missing (.venv with pip; torch pinned to a CPU build that lies on this machine's disk).

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
TORCH   ?= torch==2.13.0
STAMP   := $(VENV)/.installed
PARAMS  ?=
PYTEST_ARGS ?=

.PHONY: venv test run report baselines demo lab bench data lint format clean-cache

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[notebooks,data,dev]"
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	touch $(STAMP)

venv: $(STAMP)

## The README's test command: every test that can run here (slow, notebook and browser
## tests included; apfel/lhapdf tests skip where those modules are absent).
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## `make run` is the report job: every notebook executed headless into reports/.
run: report

report: $(STAMP)
	$(BIN)/sidislab report $(PARAMS)

baselines: $(STAMP)
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
