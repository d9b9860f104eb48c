#!/usr/bin/env bash
# The recipe of the bundled default model: fixed data, fixed seed, one command.
# Usage: bash training/train_default.sh [OUTPUT_DIR]   (default: models/claimtag-news)
# Needs the real texts rebuilt first (training/README.md):
#   python -m training.sources.rebuild --clones CLONES
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-models/claimtag-news}"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
[ -x .venv/bin/claimtag ] && export PATH="$PWD/.venv/bin:$PATH"
[ -f training/real/train.jsonl ] || {
  echo "training/real/ is missing: rebuild the real texts first (see training/README.md)" >&2; exit 2; }
start=$(date +%s)
claimtag train \
  --train training/data/train.jsonl --train training/real/train.jsonl \
  --dev training/data/dev.jsonl --dev training/real/dev.jsonl \
  --real-test training/real/test.jsonl \
  --test training/data/test.jsonl \
  --hard-cases training/data/hard_cases.jsonl \
  --seed-labels seeds/000_917dec0784c13968.labels.jsonl \
  --base minilm --name claimtag-news --version "${CLAIMTAG_MODEL_VERSION:-0.4.0}" \
  --epochs "${CLAIMTAG_EPOCHS:-4}" --learning-rate 8e-5 --batch-size 32 --max-length 128 \
  --seed "${CLAIMTAG_SEED:-13}" \
  --adapt training/real/train.jsonl --adapt-epochs 2 --adapt-learning-rate 2e-5 --adapt-seeds 13,7 \
  --output "$out"
echo "wall time: $(( $(date +%s) - start )) s"
