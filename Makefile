# The two commands of the quick start, `make demo` and `make test`, build the environment on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch; an open range could pull a multi-gigabyte CUDA build.
TORCH ?= torch==2.13.0

.PHONY: demo test check lint docs

# gradlint with its test and lint tools and, from src/, the reference simulator (a distribution of its own, not
# in gradlint's wheel).
$(BIN)/gradlint: pyproject.toml src/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]" -e ./src
	touch $@

demo: $(BIN)/gradlint
	$(BIN)/gradlint demo

# pytest exits with 5 when it collected no tests: that is a broken setup, not a pass.
test: $(BIN)/gradlint
	@$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

check: $(BIN)/gradlint
	$(BIN)/gradlint src/

# The code's own habits over the whole repository: ruff as .pre-commit-config.yaml runs it at each commit, and
# mypy at the strictness pyproject.toml states. All three run; any failure fails the target.
lint: $(BIN)/gradlint
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check --output-format concise . || status=1; \
	$(BIN)/mypy || status=1; \
	exit $$status

docs: $(BIN)/gradlint
	$(BIN)/python -m gradlint.rules.docs docs/rules.md
