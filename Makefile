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

# The packages are installed by uv (installed in the venv by pip, pinned in constraints.txt
# like the rest): the same pinned versions as pip's, in 45-71 s against pip's 151-202 s for
# the test set on a 2-core machine (warm-cold cache; docs/architecture.md).  uv reads neither
# pip.conf nor PIP_* variables: the machine's PIP_FIND_LINKS is passed on (where a machine
# keeps a local build, such as the CPU build of PyTorch).  Unlike pip, uv does not compile
# the bytecode of the ~16,500 installed modules (over 100 s of CPU), most of which the tests
# never import: Python writes it for each module when first imported, unless
# PYTHONDONTWRITEBYTECODE forbids that, and then uv compiles them all at install.
UV_INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python -c constraints.txt \
	$(foreach links,$(PIP_FIND_LINKS),--find-links $(links)) \
	$(if $(PYTHONDONTWRITEBYTECODE),--compile-bytecode)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(BIN)/uv: constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt uv
	touch $(BIN)/uv

$(DEMO_STAMP): pyproject.toml constraints.txt | $(BIN)/uv
	$(UV_INSTALL) -e .
	touch $(DEMO_STAMP)

$(TEST_STAMP): pyproject.toml constraints.txt | $(BIN)/uv
	$(UV_INSTALL) -e ".[dev,deep,service,spark]"
	touch $(TEST_STAMP)

install: $(TEST_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/custseg demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# The compiled K-Means kernels are compiled (or loaded from Numba's cache) as soon as custseg
# and its own dependencies are installed (the demo's set), beside the rest of the install (the
# test tools, the extras) and the linters: on a new checkout their first compilation (about
# 80 s on one core) would otherwise be paid inside a test, or after the install.
test: $(DEMO_STAMP)
	$(BIN)/python -c "from custseg.algorithms.kmeans import compile_kernels as c; c()" & \
	warm=$$!; \
	$(MAKE) --no-print-directory install && \
	$(BIN)/ruff check . && $(BIN)/lint-imports --no-cache && $(BIN)/mypy; lint=$$?; \
	wait $$warm; test $$lint -eq 0
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Re-pin constraints.txt to what is installed now (after a deliberate upgrade).
lock: $(TEST_STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^custseg' > constraints.txt

clean:
	rm -rf $(VENV) custseg-demo .pytest_cache .ruff_cache .mypy_cache
