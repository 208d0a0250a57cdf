# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch (on this project's machines it comes from local disk). Users with a GPU build
# already installed can run `make TORCH_SPEC= demo` or plain `pip install .` to keep theirs.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test test-all clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(if $(TORCH_SPEC),$(PY) -m pip install -q "$(TORCH_SPEC)")
	$(PY) -m pip install -q -e ".[test]"
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/ganvae compare --data mnist5k --images 80000 --seeds 3 --n-eval 1000 --out runs/demo

test: $(VENV)/.installed
	$(PY) -m pytest

test-all: $(VENV)/.installed
	$(PY) -m pytest -m ""

clean:
	rm -rf $(VENV) runs build *.egg-info
