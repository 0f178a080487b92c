# The two commands of the README: `make demo` and `make test`.
# Each creates/updates the local virtualenv (.venv) when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.sklearn-fkd-installed
# the data sets: the shared folder beside the checkout, unless the caller points elsewhere
SKLEARN_FKD_DATA ?= $(abspath ../shared/data)
export SKLEARN_FKD_DATA

.PHONY: demo test lint docs install clean peers-venv benchmarks pretrained

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m sklearn_fkd demo --output demo_output

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) tools/check_imports.py
	$(PY) -m pytest -q
	$(MAKE) docs

# The documentation, examples gallery run and API reference included; warnings are
# errors. SKLEARN_FKD_DOCS_PLOT=0 skips running the examples.
docs: $(STAMP)
	rm -rf docs/_build docs/generated docs/auto_examples
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html
	$(PY) docs/check_html.py docs/_build/html
	@echo "docs built: docs/_build/html/index.html"

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) tools/check_imports.py

# Every benchmark with the settings of the published results (hours on 2 CPU cores; the
# peers first, as bench_68 prints dlib's row from their results), then the tables.
benchmarks: $(STAMP)
	if test -x .venv-peers/bin/python; then cd benchmarks && ../.venv-peers/bin/python \
		bench_peers.py; else echo "peers skipped: make peers-venv"; fi
	cd benchmarks && ../$(PY) bench_imm.py --variants --finetune --small
	cd benchmarks && for b in bench_small bench_training_speed bench_memory bench_search \
		bench_kaggle; do ../$(PY) $$b.py || exit 1; done
	cd benchmarks && test -f output/ibug68_held_out.fkd || \
		../$(PY) train_pretrained.py ibug68 --held-out
	cd benchmarks && ../$(PY) bench_pipeline.py --model output/ibug68_held_out.fkd
	cd benchmarks && ../$(PY) bench_68.py --recipe --model output/ibug68_held_out.fkd
	cd benchmarks && ../$(PY) bench_68.py --ablation --epochs 12
	cd benchmarks && ../$(PY) bench_68.py --size 96 --epochs 15 --only resnet18 --only cnn
	cd benchmarks && ../$(PY) bench_speed.py && ../$(PY) bench_video.py
	$(PY) benchmarks/make_tables.py

# Rebuild the shipped pretrained models (about 63, 5 and 45 min on 2 CPU cores)
pretrained: $(STAMP)
	cd benchmarks && ../$(PY) train_pretrained.py ibug68
	cd benchmarks && ../$(PY) train_pretrained.py kaggle15
	cd benchmarks && ../$(PY) train_pretrained.py ibug68_fast

# The benchmarks' optional peers (dlib, MediaPipe 0.10.21, which pins numpy < 2) in a
# virtualenv of their own: .venv-peers/bin/python benchmarks/bench_peers.py
peers-venv:
	test -x .venv-peers/bin/python || $(PYTHON) -m venv .venv-peers
	.venv-peers/bin/pip install --quiet "mediapipe==0.10.21" dlib-bin face-recognition-models \
		"setuptools<81"  # face-recognition-models imports pkg_resources
	.venv-peers/bin/pip install --quiet -e . "numpy<2" "setuptools<81"

clean:
	rm -rf $(VENV) .venv-peers demo_output .pytest_cache docs/_build docs/generated \
		docs/auto_examples
