# Two commands a new user types: `make demo` and `make test`.
# Both create .venv from nothing, install compgraph into it and run.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: test demo bench clean

$(VENV)/.installed-%: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$*]"
	touch $@

test: $(VENV)/.installed-test
	$(PY) -m pytest tests

demo: $(VENV)/.installed-all
	$(PY) -m compgraph.demo

bench: $(VENV)/.installed-test
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) build *.egg-info
