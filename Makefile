# Every target creates/uses .venv; torch==2.13.0 (CPU wheel) is installed before the project so
# pip never resolves a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SEED := seeds/000_917dec0784c13968
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install demo test test-all lint data validate model bench bench-serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## Tag the seed article with the bundled model, then score it against the gold labels.
demo: $(STAMP)
	$(VENV)/bin/claimtag tag --file $(SEED).txt --date 2016-10-26
	$(VENV)/bin/claimtag evaluate --data $(SEED).labels.jsonl --report-dir $(VENV)/demo-report

## The default test suite (no slow tests); exit code 5 (no tests collected) fails the target.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

## Everything, slow tests included (what CI runs).
test-all: $(STAMP)
	$(PY) -m pytest -m "slow or not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks training

## Rebuild training/data/ from the writers' documents and check it.
data: $(STAMP)
	$(PY) training/build_data.py
	$(VENV)/bin/claimtag data validate training/data training/data/real

validate: $(STAMP)
	$(VENV)/bin/claimtag data validate training/data training/data/real

## Retrain the default model from training/data with the fixed recipe (about 12 min on 2 cores).
model: $(STAMP)
	bash training/train_default.sh models/claimtag-news

## Optimum's ORT pipeline, the fast peer of benchmarks/speed.py, needs transformers < 4.58: its own venv.
OPTIMUM_VENV ?= .venv-optimum
$(OPTIMUM_VENV)/.installed-stamp:
	$(PYTHON) -m venv $(OPTIMUM_VENV)
	$(OPTIMUM_VENV)/bin/pip install -q torch==2.13.0
	$(OPTIMUM_VENV)/bin/pip install -q 'optimum-onnx[onnxruntime]==0.1.0' 'transformers>=4.57,<4.58'
	touch $@

bench: $(STAMP) $(OPTIMUM_VENV)/.installed-stamp
	$(PY) benchmarks/speed.py --rounds 3 --optimum-python $(OPTIMUM_VENV)/bin/python

bench-serve: $(STAMP)
	$(PY) benchmarks/serve_load.py

clean:
	rm -rf $(VENV) $(OPTIMUM_VENV) build dist .pytest_cache
