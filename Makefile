# The only commands anyone needs: make demo, make test, make lint, make bench;
# make docs / docs-serve for the documentation site, make dist for a release.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# Bytecode is compiled at install time and written on first import, even where the
# environment says PYTHONDONTWRITEBYTECODE: without it every CLI call and every process a
# test starts compiles SQLAlchemy & co. from source again (2.2 s a CLI call instead of 1.1 s).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test lint format bench docs docs-serve dist clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

# files in collection order, those with `slow` tests first (tests/conftest.py), not
# xdist's default order by test count, which leaves a heavy file with few tests for last.
# Three workers on two cores: about a sixth of a test's time is spent waiting (for a run's
# processes, a server, a timeout), so with two workers the cores sat idle 17 % of the run;
# a third fills those waits (measured on the same machine: 438-440 s with 2 workers,
# 356-461 s with 3 (median about 415 s), 364 s with 4)
test: $(STAMP)
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples tools
	$(BIN)/ruff format --check src tests bench examples tools
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests bench examples tools
	$(BIN)/ruff check --fix src tests bench examples tools

bench: $(STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,bench]'
	$(BIN)/python bench/bench_tracking.py
	$(BIN)/python bench/bench_environments.py
	$(BIN)/python bench/bench_execution.py
	$(BIN)/python bench/bench_scale_ray.py
	$(BIN)/python bench/bench_mlflow_protocol.py
	$(BIN)/python bench/bench_nocode_predict.py
	$(BIN)/python bench/bench_serving.py
	$(BIN)/python bench/bench_data.py
	$(BIN)/python bench/bench_server.py
	$(BIN)/python bench/bench_reliability_server.py
	$(BIN)/python bench/bench_scale.py
	$(BIN)/python bench/bench_reliability_supervisor.py
	$(BIN)/python bench/bench_pipelines.py
	$(BIN)/python bench/bench_parallel_run.py
	$(BIN)/python bench/bench_runs_frame.py
	$(BIN)/python bench/bench_studio.py
	$(BIN)/python bench/bench_sweeps.py
	$(BIN)/python bench/bench_drift.py
	$(BIN)/python bench/bench_automl.py
	$(BIN)/python bench/bench_containers.py

# the documentation site into site/ (mkdocs.yml; strict: a broken link or reference fails)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

# the sdist and the wheel into dist/ (the version is pyproject.toml's)
dist: $(STAMP)
	rm -rf dist
	$(BIN)/uv build --quiet --out-dir dist

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site dist
