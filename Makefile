# custseg: two commands do all set-up on a new machine.
#   make demo   create .venv if missing, install custseg, run the demo
#   make test   create .venv if missing, install custseg with the test tools and the optional
#               extras the tests cover (deep: the CPU build of PyTorch; service: FastAPI,
#               SQLAlchemy, psycopg), lint (ruff, then lint-imports: the layers in
#               pyproject.toml, then mypy --strict on the core modules), run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-demo
TEST_STAMP := $(VENV)/.installed-test
# make test runs the tests on this many processes (pytest-xdist; 2 for a 2-core CI machine);
# tests/conftest.py schedules them by module, the Spark tests together (one JVM)
TEST_WORKERS ?= 2

.PHONY: demo test install lint clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(DEMO_STAMP)

$(TEST_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,deep,service,spark]"
	touch $(TEST_STAMP)

install: $(TEST_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/custseg demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# The compiled K-Means kernels are compiled (or loaded from Numba's cache) beside the linters:
# on a new checkout their first compilation (about 80 s on one core) would otherwise be paid
# inside a test, after the linters.
test: $(TEST_STAMP)
	$(BIN)/python -c "from custseg.algorithms.kmeans import compile_kernels as c; c()" & \
	warm=$$!; \
	$(BIN)/ruff check . && $(BIN)/lint-imports --no-cache && $(BIN)/mypy; lint=$$?; \
	wait $$warm; test $$lint -eq 0
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Re-pin constraints.txt to what is installed now (after a deliberate upgrade).
lock: $(TEST_STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^custseg' > constraints.txt

clean:
	rm -rf $(VENV) custseg-demo .pytest_cache .ruff_cache .mypy_cache
