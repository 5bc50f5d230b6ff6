# Two commands a new user types: `make demo` and `make test`.
# Both create .venv from nothing, install compgraph into it and run.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# the MPI tests run where MPI is installed (mpi4py builds against it)
TEST_EXTRAS := test$(shell command -v mpicc >/dev/null 2>&1 && echo ,mpi)

.PHONY: test demo bench clean

$(VENV)/.installed-%: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$*]"
	touch $@

test: $(VENV)/.installed-$(TEST_EXTRAS)
	$(PY) -m pytest tests

demo: $(VENV)/.installed-all
	$(PY) -m compgraph.demo

bench: $(VENV)/.installed-test
	$(PY) -m pip install --quiet torch==2.13.0 threadpoolctl
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info
