# neuropipe: `make test` and `make demo` work on a fresh clone; both create .venv first.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.neuropipe-installed

.PHONY: venv test lint docs docs-build demo bench mutate clean

venv: $(STAMP)

# Step 1: the stack, resolved normally (torch/torchvision pinned as a pair, numpy<2), with the
#         SpiNNaker toolchain (PyNN, sPyNNaker, NEST; one release of every SpiNNaker package)
#         and Ray Tune + Optuna for `neuropipe sweep` (pyarrow<26, pandas<3 beside numpy<2).
# Step 2: lava-nc and lava-dl alone, without their stale metadata (they declare Python <3.11).
# Step 3: neuropipe itself (editable), then the one Python 3.11 fix to Lava (idempotent).
$(STAMP): pyproject.toml requirements/base.txt requirements/dev.txt requirements/lava.txt \
		requirements/spinnaker.txt requirements/sweep.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade "pip>=23" 2>/dev/null || true
	$(BIN)/python -m pip install -q -r requirements/base.txt -r requirements/dev.txt \
		-r requirements/spinnaker.txt -r requirements/sweep.txt
	$(BIN)/python -m pip install -q --no-deps --ignore-requires-python -r requirements/lava.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m neuropipe.targets.lava_setup
	$(BIN)/python -c "import lava.proc.lif.process, lava.lib.dl.netx, ray.tune, optuna"
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check core pipeline models targets reports tests bench

test: venv lint docs-build
	$(BIN)/python -m pytest -q tests

# The documentation site (mkdocs.yml, docs/): --strict fails on a broken link or reference;
# built into build/site/ (gitignored). `make docs` serves it at http://127.0.0.1:8000.
docs-build: venv
	$(BIN)/python docs/hooks.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

docs: venv
	$(BIN)/python docs/hooks.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

demo: venv
	$(BIN)/python -m neuropipe.pipeline.demo

bench: venv
	for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Mutation testing of the modules that produce figures (mutmut 3, in a copy under /tmp): the
# score per module and every mutant not killed. Slow (tens of minutes): not part of `make test`.
mutate: venv
	$(BIN)/python bench/mutation/mutate.py

clean:
	rm -rf $(VENV) build *.egg-info
