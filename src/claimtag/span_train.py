"""Train the span head of a model directory on sentences annotated with spans.

The encoder stays frozen (the sentence labels do not move by a single logit): its hidden
states are computed once per sentence, cached, and the small head is fitted on them, which
takes a minute on two CPU cores. Spans come as ``"spans": {"source": [start, end], ...}``
character offsets into the sentence's ``text`` (see training/guidelines.md, "Spans"); the head
is chosen by its overlap F1 on the dev sentences, then saved beside the model, and the model's
int8 ONNX file is rebuilt so that it carries the head too.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .data import Example
from .model_files import quiet_loading
from .span_head import SPAN_TYPES, TAGS, HeadConfig, SpanHead, head_features, save_head
from .spans import normalized_index

logger = logging.getLogger(__name__)


def gold_spans(example: Example) -> dict[str, tuple[int, int]]:
    """The example's annotated spans as ``{type: (start, end)}`` into its text."""
    spans = example.extra.get("spans") or {}
    return {k: (int(v[0]), int(v[1])) for k, v in spans.items() if v and k in SPAN_TYPES}


def token_tags(text: str, spans: dict[str, tuple[int, int]],
               offsets: Sequence[tuple[int, int]]) -> list[int]:
    """BIO tag ids for the tokens of ``normalize(text)`` whose ``offsets`` are given."""
    _, where = normalized_index(text)
    tags = [0] * len(offsets)
    for kind, (start, end) in spans.items():
        inside = False
        for t, (a, b) in enumerate(offsets):
            if b <= a:
                continue
            o_start, o_end = where[a], where[b - 1] + 1
            if o_start >= start and o_end <= end:
                tags[t] = TAGS.index(f"{'I' if inside else 'B'}-{kind}")
                inside = True
    return tags


class FeatureCache:
    """Frozen-encoder features and tags of a list of sentences."""

    def __init__(self, model: torch.nn.Module, tokenizer, examples: Sequence[Example],
                 config: HeadConfig, max_length: int) -> None:
        from .segment import normalize

        self.features: list[torch.Tensor] = []
        self.tags: list[torch.Tensor] = []
        self.offsets: list[list[tuple[int, int]]] = []
        texts = [normalize(e.text) for e in examples]
        for begin in range(0, len(texts), 64):
            batch = texts[begin:begin + 64]
            enc = tokenizer(batch, truncation=True, max_length=max_length, padding=True,
                            return_offsets_mapping=True, return_tensors="pt")
            with torch.inference_mode():
                out = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                            output_hidden_states=True)
            feats = head_features(out.hidden_states, config.layers)
            for row, example in enumerate(examples[begin:begin + 64]):
                n = int(enc["attention_mask"][row].sum())
                offsets = [tuple(x) for x in enc["offset_mapping"][row][:n].tolist()]
                self.features.append(feats[row, :n].to(torch.float16))
                self.offsets.append(offsets)
                self.tags.append(torch.tensor(token_tags(example.text, gold_spans(example),
                                                         offsets)))


def has_spans(example: Example) -> bool:
    """Whether the example was span-annotated (an empty ``spans`` object counts: no spans)."""
    return isinstance(example.extra.get("spans"), dict)


def train_head(model_dir: Path, train: Sequence[Example], dev: Sequence[Example], *,
               epochs: int = 15, seed: int = 13, config: HeadConfig = HeadConfig(),
               ship: bool = True, patience: int = 3, lr: float = 1e-3) -> dict[str, object]:
    """Fit and save the span head of ``model_dir`` on the span-annotated examples; returns its
    ``claimtag.json`` record (settings and dev scores). ``ship=True`` also writes that record and
    rebuilds the shipped int8 file; ``claimtag train`` does both itself."""
    train = [e for e in train if has_spans(e)]
    dev = [e for e in dev if has_spans(e)]
    if not train or not dev:
        raise ValueError("span head: no span-annotated sentences in the training or dev data "
                         "(rows need a 'spans' object; training/guidelines.md, 'Spans')")
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from .model_files import ModelMeta

    torch.manual_seed(seed)
    random.seed(seed)
    with quiet_loading():
        model = AutoModelForSequenceClassification.from_pretrained(model_dir,
                                                                   dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    meta = ModelMeta.load(model_dir, model.config.id2label)
    train_cache = FeatureCache(model, tokenizer, train, config, meta.max_length)
    dev_cache = FeatureCache(model, tokenizer, dev, config, meta.max_length)
    head = SpanHead(model.config.hidden_size, config)
    optimizer = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=0.01)
    best: tuple[float, dict] = (-1.0, {})
    order = list(range(len(train_cache.features)))
    for epoch in range(epochs):
        head.train()
        random.shuffle(order)
        for begin in range(0, len(order), 32):
            chunk = order[begin:begin + 32]
            feats = torch.nn.utils.rnn.pad_sequence(
                [train_cache.features[i].float() for i in chunk], batch_first=True)
            tags = torch.nn.utils.rnn.pad_sequence([train_cache.tags[i] for i in chunk],
                                                   batch_first=True, padding_value=-100)
            loss = torch.nn.functional.cross_entropy(head(feats).flatten(0, 1), tags.flatten(),
                                                     ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        scores = dev_scores(head, dev_cache, dev)
        logger.info("span head epoch %d: dev overlap F1 %s", epoch + 1, scores)
        mean = float(np.mean([scores[k]["f1"] for k in SPAN_TYPES]))
        if mean > best[0]:
            best = (mean, {"epoch": epoch + 1, "dev": scores,
                           "state": {k: v.clone() for k, v in head.state_dict().items()}})
        elif epoch + 1 - best[1]["epoch"] >= patience:
            break  # no gain on dev for `patience` epochs
    head.load_state_dict(best[1]["state"])
    head.eval()
    record = save_head(head, model_dir)
    record.update({"epoch": best[1]["epoch"], "dev_overlap": best[1]["dev"],
                   "train_sentences": len(train), "dev_sentences": len(dev)})
    if ship:
        _record(model_dir, record)
    return record


def dev_scores(head: SpanHead, cache: FeatureCache, examples: Sequence[Example]) -> dict[str, dict]:
    from .span_eval import span_scores
    from .spans import decode

    head.eval()
    predicted = []
    with torch.inference_mode():
        for feats, offsets, example in zip(cache.features, cache.offsets, examples):
            probs = torch.softmax(head(feats.float()[None])[0], dim=-1).numpy()
            found = decode(probs, offsets, example.text, example.label)
            predicted.append({k: (v.start, v.end) for k, v in found.items()})
    return span_scores([gold_spans(e) for e in examples], predicted, [e.text for e in examples],
                       match="overlap")


def _record(model_dir: Path, record: dict) -> None:
    """Write ``extra.spans`` and rebuild the shipped int8 file (it now includes the head)."""
    from .onnx_export import ship_int8

    meta_file = Path(model_dir) / "claimtag.json"
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta.setdefault("extra", {})["spans"] = record
    if meta["extra"].get("onnx"):  # the export reads the head's settings from the file
        meta_file.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
        meta["extra"]["onnx"] = ship_int8(Path(model_dir))
    meta_file.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
