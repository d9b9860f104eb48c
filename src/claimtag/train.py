"""Fine-tuning with ``transformers.Trainer``, then calibration, evaluation and the model card.

Reads top to bottom: load and check data -> pick label set and starting weights -> tokenise ->
train with early stopping on dev macro-F1 -> fit a temperature on dev -> save in float16
(computed in float32) -> when the data has span annotations, fit the span head on the frozen
encoder (:mod:`claimtag.span_train`) -> with ``adapt`` files, train encoder, classifier and head
together on them (:mod:`claimtag.adapt`) -> build the int8 ONNX file -> reload the saved model and
score it next to the TF-IDF baseline (spans next to the rule baseline) -> write report and card.
The run's configuration and data live in :mod:`claimtag.train_setup`, the scoring in
:mod:`claimtag.train_report`.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from .adapt import AdaptConfig, adapt
from .data import (
    Example,
    data_hash,
)
from .distil import DistilConfig, TeacherLogits, distil_loss
from .labels import LabelSet
from .model_files import ModelMeta
from .onnx_export import ship_int8
from .span_train import has_spans, train_head
from .train_report import evaluate_model_dir
from .train_setup import TrainConfig, base_model_dir, load_data
from .weights import fit_temperature, save_weights

logger = logging.getLogger(__name__)


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

    def encode(examples: list[Example], unlabelled: list[Example] = (),
               teacher: TeacherLogits | None = None) -> Dataset:
        everything = [*examples, *unlabelled]
        rows = {"text": [e.text for e in everything],
                "label": [labels.label2id[e.label] for e in examples] + [-100] * len(unlabelled)}
        if teacher is not None:
            rows["soft"], rows["has_soft"] = teacher.soft_targets(everything, len(labels.names))
        return Dataset.from_dict(rows).map(
            lambda b: tokenizer(b["text"], truncation=True, max_length=config.max_length),
            batched=True, remove_columns=["text"])

    weights = _class_weights(data.train, labels) if config.class_weights else None
    distil = (DistilConfig(config.distil_alpha, config.distil_temperature) if data.teacher
              else None)
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
        remove_unused_columns=data.teacher is None,  # keep the teacher's columns for the loss
    )
    trainer = _make_weighted_trainer()(
        model=model,
        args=args,
        train_dataset=encode(data.train, data.distil, data.teacher),
        eval_dataset=encode(data.dev),
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=_compute_metrics,
        callbacks=[EarlyStoppingCallback(config.early_stopping_patience), *(callbacks or [])],
        class_weights=weights,
        distil=distil,
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
            seeds=tuple(config.adapt_seeds or [config.seed]),
            distil=distil if config.adapt_distil else None), data.teacher)
        meta.temperature = stage["temperature"]
        meta.extra["adapt"] = stage["adapt"]
        if "spans" in stage:
            meta.extra["spans"] = stage["spans"]
        meta.save(out)
    if distil is not None:
        meta.extra["distil"] = {**asdict(distil), "teacher": Path(config.teacher).name,
                                "unlabelled_sentences": len(data.distil)}
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


def _make_weighted_trainer() -> type:
    import torch
    from transformers import Trainer

    class WeightedTrainer(Trainer):
        """Trainer whose cross-entropy can weight classes (for skewed user label sets), or mix
        in a teacher's soft targets (:mod:`claimtag.distil`; then without class weights)."""

        def __init__(self, *args: Any, class_weights: np.ndarray | None = None,
                     distil: DistilConfig | None = None, **kw: Any):
            super().__init__(*args, **kw)
            self.class_weights = (
                torch.tensor(class_weights, dtype=torch.float32) if class_weights is not None
                else None
            )
            self.distil = distil

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            soft, has_soft = inputs.pop("soft", None), inputs.pop("has_soft", None)
            outputs = model(**inputs)
            if soft is not None and self.distil is not None:
                loss = distil_loss(outputs.logits, labels, soft.float(), has_soft.bool(),
                                   self.distil)
            else:
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
