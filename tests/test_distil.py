"""Distillation: the teacher file, the mixed loss, and a training run that uses both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_train import SENTENCES, write_data

from claimtag.data import DataError, load_examples
from claimtag.distil import DistilConfig, TeacherLogits, distil_loss, write_teacher_logits
from claimtag.labels import LabelSet
from claimtag.pointers import load_pointers, sentence_sha256
from claimtag.train import train
from claimtag.train_setup import TrainConfig

DATA = Path(__file__).resolve().parents[1] / "training" / "data"
FILE_ORDER = ["other", "fact", "claim", "denial", "forecast"]  # not the model's order


def test_teacher_rows_are_mapped_to_the_models_label_order(tmp_path: Path) -> None:
    labels = LabelSet.default()
    file = tmp_path / "t.jsonl"
    write_teacher_logits(file, [(sentence_sha256("It will rain."), [0, 1, 2, 3, 9])], FILE_ORDER)
    teacher = TeacherLogits.load(file, labels)
    logits = teacher.for_examples(load_examples(_rows(tmp_path / "x.jsonl", ["It will rain.",
                                                                             "Unseen."])))
    assert logits[1] is None
    assert labels.names[int(np.argmax(logits[0]))] == "forecast"
    assert logits[0][labels.names.index("other")] == 0


@pytest.mark.parametrize(("row", "message"), [
    ({"sha256": "a", "labels": FILE_ORDER}, "needs 'sha256', 'labels' and 'logits'"),
    ({"sha256": "a", "labels": ["yes", "no"], "logits": [1, 2]}, "do not match the model's"),
    ({"sha256": "a", "labels": FILE_ORDER, "logits": [1, 2]}, "with 2 logits"),
    ({"sha256": "a", "labels": FILE_ORDER, "logits": [1, 2, 3, 4, float("nan")]}, "finite"),
])
def test_bad_teacher_rows_name_the_line(tmp_path: Path, row: dict, message: str) -> None:
    file = tmp_path / "t.jsonl"
    file.write_text(json.dumps({"sha256": "b", "labels": FILE_ORDER, "logits": [0] * 5}) + "\n"
                    + json.dumps(row) + "\n")
    with pytest.raises(DataError, match=f"t.jsonl:2: .*{message}"):
        TeacherLogits.load(file, LabelSet.default())


def test_mixed_loss_weights_labels_and_teacher() -> None:
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.1, 0.0], [1.0, 1.0, 3.0]])
    labels = torch.tensor([0, 1, -100])  # the third sentence is unlabelled
    soft = torch.tensor([[0.0, 3.0, 0.0], [9.0, 9.0, 9.0], [1.0, 1.0, 3.0]])
    has_soft = torch.tensor([True, False, True])
    ce = torch.nn.functional.cross_entropy(logits[:2], labels[:2], reduction="none")
    only_labels = distil_loss(logits, labels, soft, has_soft, DistilConfig(alpha=0.0))
    assert only_labels.item() == pytest.approx(ce.sum().item() / 3, rel=1e-5)
    # alpha 1: the labelled sentence with teacher logits learns from the teacher alone, the one
    # without from its label; the unlabelled one agrees with its teacher, so adds nothing
    only_teacher = distil_loss(logits, labels, soft, has_soft, DistilConfig(alpha=1.0))
    t = 2.0
    kl = torch.nn.functional.kl_div(torch.log_softmax(logits[0] / t, -1),
                                    torch.log_softmax(soft[0] / t, -1), log_target=True,
                                    reduction="sum") * t * t
    assert only_teacher.item() == pytest.approx((kl + ce[1]).item() / 3, rel=1e-5)


def _rows(path: Path, texts: list[str], label: str = "fact") -> Path:
    path.write_text("".join(json.dumps({"doc_id": f"u{i}", "text": t, "label": label}) + "\n"
                            for i, t in enumerate(texts)))
    return path


def test_training_with_a_teacher_learns_from_it(tmp_path: Path, tiny_model_dir: Path) -> None:
    """The teacher's logits change what the model learns, are recorded in claimtag.json, and
    unlabelled sentences without teacher logits are refused by name."""
    from claimtag import Tagger

    data = write_data(tmp_path / "train.jsonl", n_docs=3)
    unlabelled = _rows(tmp_path / "u.jsonl", [f"Next year the plant {i} may open." for i in
                                              range(12)])
    forecast = [9.0 if n == "forecast" else 0.0 for n in FILE_ORDER]
    rows = [(sentence_sha256(e.text), forecast) for e in load_examples(unlabelled)]
    rows += [(sentence_sha256(t), forecast) for texts in SENTENCES.values() for t in texts]
    teacher = tmp_path / "teacher.jsonl"
    write_teacher_logits(teacher, rows, FILE_ORDER)

    def run(name: str, **kw) -> Path:
        config = TrainConfig(train=[str(data)], dev=[str(data)], output_dir=str(tmp_path / name),
                             base=str(tiny_model_dir), epochs=2, batch_size=8, seed=3,
                             learning_rate=1e-3, **kw)
        train(config)
        return tmp_path / name

    plain = run("plain")
    taught = run("taught", teacher=str(teacher), distil=[str(unlabelled)], distil_alpha=0.9,
                 adapt=[str(data)])  # the second stage learns from the teacher too
    extra = json.loads((taught / "claimtag.json").read_text())["extra"]
    assert extra["distil"] == {"alpha": 0.9, "temperature": 2.0, "teacher": "teacher.jsonl",
                               "unlabelled_sentences": 12}
    assert extra["adapt"]["distil"] == {"alpha": 0.9, "temperature": 2.0}
    probe = ["Next year the plant 3 may open.", "The bridge opened in 1998."]
    p_plain = Tagger.load(plain).classify(probe)
    p_taught = Tagger.load(taught).classify(probe)
    assert all(t.scores["forecast"] > p.scores["forecast"] for t, p in zip(p_taught, p_plain))
    missing = _rows(tmp_path / "m.jsonl", ["A sentence the teacher never saw."])
    with pytest.raises(DataError, match="m.jsonl: 1 distillation sentences have no teacher"):
        run("x", teacher=str(teacher), distil=[str(missing)])
    with pytest.raises(DataError, match="--distil needs --teacher"):
        run("y", distil=[str(unlabelled)])


def test_shipped_teacher_file_covers_the_recipes_sentences() -> None:
    """Every sentence the default recipe trains on, and every unlabelled one, has logits."""
    teacher = TeacherLogits.load(DATA / "teacher" / "mpnet-logits.jsonl", LabelSet.default())
    synthetic = load_examples(DATA / "train.jsonl") + load_examples(DATA / "hard_cases.jsonl",
                                                                     split="train")
    assert all(v is not None for v in teacher.for_examples(synthetic))
    for split in ("train", "distil"):
        pointers = load_pointers(DATA / "real" / f"{split}.pointers.jsonl")
        assert all(p.sha256 in teacher.table for p in pointers), split
    assert len(load_pointers(DATA / "real" / "distil.pointers.jsonl")) >= 5000
