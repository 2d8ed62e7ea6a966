# ECS Dojo: two commands on a fresh machine.
#   make lab   — install into .venv, build the demo image when a Docker engine answers, start JupyterLab on 127.0.0.1
#                (make lab PORT=8890 picks the port)
#   make test  — install with the test extras, build the demo image, run the whole suite
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8888
PY := $(VENV)/bin/python
DOJO := $(VENV)/bin/dojo
PYTEST := $(PY) -m pytest

.PHONY: lab test install install-test images unit notebooks release clean-labs

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

images: install
	$(DOJO) images build --if-engine

lab: install images
	$(DOJO) lab --port $(PORT)

# The whole suite: unit and Docker integration tests, then the notebooks under nbval.
test: install-test
	$(VENV)/bin/lint-imports
	$(DOJO) images build --if-engine
	$(DOJO) release --check
	$(PYTEST) tests
	DOJO_HOME=$$(mktemp -d) $(PYTEST) -p no:cacheprovider --nbval --nbval-sanitize-with labs/nbval-sanitize.cfg --nbval-cell-timeout=300 solutions
	DOJO_HOME=$$(mktemp -d) $(PYTEST) -p no:cacheprovider --nbval-lax --nbval-cell-timeout=300 notebooks

unit: install-test
	$(PYTEST) tests -m "not docker"

release: install
	$(DOJO) release

clean-labs: install
	$(DOJO) down --sweep
