"""Adapt a trained model to span-annotated in-domain text: labels and spans learnt together.

The second stage of the default recipe. After the classifier has learnt the labels on all the
data (synthetic and real) and its span head has been fitted on the frozen encoder, a short pass
over the span-annotated real sentences trains the encoder, the classifier and the span head at
once: the sentence-label loss plus the per-token span loss. Unlike the frozen-encoder head
(:mod:`claimtag.span_train`) the encoder moves, so the sentence labels move too; the stage is
kept because it measurably helps on the real dev split (training/README.md). The model
directory is updated in place: weights, head, temperature; the caller rebuilds the int8 file.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .data import Example
from .distil import DistilConfig, TeacherLogits, distil_loss
from .labels import LabelSet
from .model_files import ModelMeta, quiet_loading
from .span_head import SPAN_TYPES, SpanHead, has_head, head_features, load_head, save_head
from .span_train import FeatureCache, dev_scores, gold_spans, has_spans, token_tags
from .weights import fit_temperature, save_weights

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaptConfig:
    """The settings of the joint stage (recorded in ``claimtag.json`` ``extra.adapt``)."""

    epochs: int = 2
    learning_rate: float = 2e-5  #: encoder and classifier
    head_learning_rate: float = 1e-3  #: the span head, which starts from its frozen fit
    span_weight: float = 1.0  #: span loss relative to the sentence-label loss
    batch_size: int = 32
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    #: one run per seed from the same weights; several runs are averaged into one model
    seeds: tuple[int, ...] = (13,)
    #: with a teacher: its soft targets mixed into the label loss (:mod:`claimtag.distil`)
    distil: DistilConfig | None = None


@dataclass
class _Encoded:
    input_ids: list[int]
    label: int
    tags: list[int]  #: -100 everywhere for a sentence without span annotation
    soft: list[float]  #: the teacher's logits (zeros where it has none)
    has_soft: bool


def _encode(tokenizer, examples: Sequence[Example], labels: LabelSet, max_length: int,
            teacher: TeacherLogits | None = None) -> list[_Encoded]:
    from .segment import normalize

    enc = tokenizer([normalize(e.text) for e in examples], truncation=True, max_length=max_length,
                    return_offsets_mapping=True)
    soft, has_soft = (teacher or TeacherLogits({})).soft_targets(list(examples),
                                                                 len(labels.names))
    rows = []
    for i, example in enumerate(examples):
        offsets = [tuple(x) for x in enc["offset_mapping"][i]]
        tags = (token_tags(example.text, gold_spans(example), offsets) if has_spans(example)
                else [-100] * len(offsets))
        rows.append(_Encoded(enc["input_ids"][i], labels.label2id[example.label], tags, soft[i],
                             has_soft[i]))
    return rows


def _batches(rows: list[_Encoded], size: int, rng: random.Random) -> list[list[_Encoded]]:
    """Shuffled batches of similar length (sorted inside shuffled chunks of 50 batches): little
    padding, as ``group_by_length`` gives the first stage."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    chunk = size * 50
    batches = []
    for begin in range(0, len(order), chunk):
        part = sorted(order[begin:begin + chunk], key=lambda i: len(rows[i].input_ids))
        batches += [[rows[i] for i in part[b:b + size]] for b in range(0, len(part), size)]
    rng.shuffle(batches)
    return batches


def _tensors(batch: list[_Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(r.input_ids) for r in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    tags = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, r in enumerate(batch):
        n = len(r.input_ids)
        ids[row, :n] = torch.tensor(r.input_ids)
        mask[row, :n] = 1
        tags[row, :n] = torch.tensor(r.tags)
    return {"input_ids": ids, "attention_mask": mask, "tags": tags,
            "labels": torch.tensor([r.label for r in batch]),
            "soft": torch.tensor([r.soft for r in batch]),
            "has_soft": torch.tensor([r.has_soft for r in batch])}


def adapt(model_dir: Path, train: Sequence[Example], dev: Sequence[Example],
          config: AdaptConfig = AdaptConfig(), teacher: TeacherLogits | None = None
          ) -> dict[str, object]:
    """Train ``model_dir``'s encoder, classifier and span head together on ``train`` and save
    them back; ``dev`` gives the temperature and the head's dev scores. With several
    ``config.seeds`` the stage runs once per seed from the same weights and the runs' weights
    are averaged (a uniform "model soup", Wortsman et al. 2022): one model, the variance of a
    single run's data order smoothed out. With ``teacher`` and ``config.distil`` the label loss
    mixes in the teacher's soft targets. Returns ``{"adapt": settings and sizes, "spans": the
    head's record, "temperature": T}``."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model, head = _load(model_dir)
    meta = ModelMeta.load(model_dir, model.config.id2label)
    rows = _encode(tokenizer, train, meta.labels, meta.max_length,
                   teacher if config.distil else None)
    start = (_copy(model.state_dict()), _copy(head.state_dict()) if head is not None else {})
    runs = [_train_once(model, head, start, rows, config, seed, tokenizer.pad_token_id or 0)
            for seed in config.seeds]
    model.load_state_dict(_mean([r[0] for r in runs]))
    if head is not None:
        head.load_state_dict(_mean([r[1] for r in runs]))
    model.eval()
    temperature = fit_temperature(*_dev_logits(model, tokenizer, dev, meta))
    result: dict[str, object] = {"adapt": {**asdict(config), "train_sentences": len(train)},
                                 "temperature": round(float(temperature), 4)}
    save_weights(model, model_dir)
    if head is not None:
        head.eval()
        span_dev = [e for e in dev if has_spans(e)]
        cache = FeatureCache(model.float(), tokenizer, span_dev, head.config, meta.max_length)
        scores = dev_scores(head, cache, span_dev) if span_dev else {}
        logger.info("adapt: span dev overlap F1 %s",
                    {k: scores[k]["f1"] for k in SPAN_TYPES if k in scores})
        result["spans"] = {**save_head(head, model_dir), "dev_overlap": scores,
                           "train_sentences": sum(map(has_spans, train)),
                           "dev_sentences": len(span_dev), "encoder_trained_with_head": True}
    return result


def _load(model_dir: Path) -> tuple[torch.nn.Module, SpanHead | None]:
    from transformers import AutoModelForSequenceClassification

    with quiet_loading():
        model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32)
    head = load_head(model_dir, model.config.hidden_size) if has_head(model_dir) else None
    return model, head


def _mean(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {k: sum(s[k] for s in states) / len(states) if states[0][k].is_floating_point()
            else states[0][k] for k in states[0]}


def _copy(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}


def _train_once(model: torch.nn.Module, head: SpanHead | None,
                start: tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]],
                rows: list[_Encoded], config: AdaptConfig, seed: int,
                pad_id: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One run of the stage from the ``start`` weights (loaded into ``model`` and ``head``
    first, so every seed starts from the same point without reading the files again);
    returns the trained weights of the classifier and of the head (empty without a head)."""
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(seed)
    rng = random.Random(seed)
    model.load_state_dict(start[0])
    if head is not None:
        head.load_state_dict(start[1])
    steps = config.epochs * -(-len(rows) // config.batch_size)
    groups = [{"params": list(model.parameters()), "lr": config.learning_rate}]
    if head is not None:
        groups.append({"params": list(head.parameters()), "lr": config.head_learning_rate})
        head.train()
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * steps), steps)
    model.train()
    for epoch in range(config.epochs):
        losses = []
        for batch in _batches(rows, config.batch_size, rng):
            t = _tensors(batch, pad_id)
            out = model(input_ids=t["input_ids"], attention_mask=t["attention_mask"],
                        output_hidden_states=head is not None)
            loss = (distil_loss(out.logits, t["labels"], t["soft"], t["has_soft"], config.distil)
                    if config.distil else torch.nn.functional.cross_entropy(out.logits,
                                                                           t["labels"]))
            if head is not None and (t["tags"] != -100).any():
                span_logits = head(head_features(out.hidden_states, head.config.layers))
                loss = loss + config.span_weight * torch.nn.functional.cross_entropy(
                    span_logits.flatten(0, 1), t["tags"].flatten(), ignore_index=-100)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
        logger.info("adapt seed %d epoch %d: mean loss %.4f", seed, epoch + 1,
                    float(np.mean(losses)))
    return _copy(model.state_dict()), _copy(head.state_dict()) if head is not None else {}


def _dev_logits(model: torch.nn.Module, tokenizer, dev: Sequence[Example], meta: ModelMeta
                ) -> tuple[np.ndarray, np.ndarray]:
    """Sentence logits and gold label ids on ``dev``, for the temperature."""
    from .segment import normalize

    logits = []
    for begin in range(0, len(dev), 64):
        batch = dev[begin:begin + 64]
        enc = tokenizer([normalize(e.text) for e in batch], truncation=True, padding=True,
                        max_length=meta.max_length, return_tensors="pt")
        with torch.inference_mode():
            logits.append(model(input_ids=enc["input_ids"],
                                attention_mask=enc["attention_mask"]).logits.numpy())
    gold = np.array([meta.labels.label2id[e.label] for e in dev])
    return np.concatenate(logits), gold
