from __future__ import annotations

import json

import numpy as np
import pytest

from claimtag import Tagger
from claimtag.data import DataError
from claimtag.train import train
from claimtag.train_setup import TrainConfig
from claimtag.weights import fit_temperature

SENTENCES = {
    "forecast": ["The plant will open next year.", "Rates are expected to rise in March.",
                 "The vote is slated for Tuesday.", "Prices could climb further, analysts warned."],
    "denial": ["The minister denied the report.", "The club dismissed the rumours as baseless.",
               "There is no truth to the claim, she said.", "He rejected accusations of fraud."],
    "fact": ["The bridge opened in 1998.", "Rebels seized the town on Monday.",
             "The company employs 400 people.", "Turnout was 61 percent."],
    "claim": ["The policy has been a disaster, critics say.", "Sources said talks had stalled.",
              "The mayor said the scheme was working.", "Police alleged he stole the car."],
    "other": ["Read more:", "By Jane Doe", "What happens next?", "Short link:"],
}


def write_data(path, n_docs=6):
    with path.open("w") as fh:
        for d in range(n_docs):
            for label, texts in SENTENCES.items():
                text = texts[d % len(texts)]
                fh.write(json.dumps({"doc_id": f"doc{d}", "text": f"{text}", "label": label}) + "\n")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir):
    tmp = tmp_path_factory.mktemp("train")
    data = write_data(tmp / "train.jsonl")
    config = TrainConfig(train=[str(data)], test=[str(data)], output_dir=str(tmp / "model"),
                         base=str(tiny_model_dir), epochs=2, batch_size=8, seed=3, name="smoke")
    report = train(config)
    return tmp / "model", report, config


def test_saved_model_is_a_complete_hf_dir(trained):
    model_dir, report, _ = trained
    for name in ("config.json", "model.safetensors", "tokenizer.json", "claimtag.json", "README.md",
                 "report.json", "report.md", "train_config.json", "confusion_test.png"):
        assert (model_dir / name).exists(), name
    config = json.loads((model_dir / "config.json").read_text())
    assert config["id2label"]["0"] == "forecast" and config["dtype"] == "float32"
    from safetensors import safe_open

    with safe_open(model_dir / "model.safetensors", "pt") as weights:  # stored half size
        assert all(str(weights.get_slice(k).get_dtype()) == "F16" for k in weights.keys())  # noqa: SIM118 (safe_open is not iterable)
    onnx = json.loads((model_dir / "claimtag.json").read_text())["extra"]["onnx"]
    assert (model_dir / onnx["file"]).is_file() and len(onnx["sha256"]) == 64
    assert not (model_dir.parent / ".model.checkpoints").exists()


def test_saved_model_loads_and_predicts(trained):
    model_dir, _, _ = trained
    tagger = Tagger.load(model_dir)
    assert tagger.model_id == "smoke@0.1.0"
    assert tagger.classify(["It will rain."])[0].label in tagger.labels.names


def test_report_has_model_and_baseline_and_card_states_them(trained):
    model_dir, report, _ = trained
    assert report["model"]["test"]["n"] == 30
    assert "macro_f1" in report["baseline"]["test"]
    card = (model_dir / "README.md").read_text()
    assert "baseline macro-F1" in card and f"{report['model']['test']['macro_f1']:.3f}" in card


def test_same_seed_same_model(trained, tmp_path):
    model_dir, _, config = trained
    config.output_dir = str(tmp_path / "again")
    train(config)
    a = Tagger.load(model_dir).classify(["Sales fell.", "It will snow."])
    b = Tagger.load(tmp_path / "again").classify(["Sales fell.", "It will snow."])
    assert [p.scores for p in a] == [p.scores for p in b]


def test_custom_label_set_gets_a_new_head(tmp_path, tiny_model_dir):
    data = tmp_path / "d.csv"
    data.write_text("text,label,doc_id\n" + "\n".join(
        f"{t},{'rumour' if i % 2 else 'news'},d{i % 5}" for i, t in enumerate(
            ["a b c", "d e f", "g h i", "j k l", "m n o", "p q r", "s t u", "v w x", "y z a", "b c d"])))
    train(TrainConfig(train=[str(data)], output_dir=str(tmp_path / "m"), base=str(tiny_model_dir),
                      max_steps=2, batch_size=4, dev_fraction=0.4, calibrate=False))
    tagger = Tagger.load(tmp_path / "m")
    assert set(tagger.labels.names) == {"news", "rumour"}
    assert json.loads((tmp_path / "m" / "claimtag.json").read_text())["labels"] == ["news", "rumour"]


def test_unknown_label_in_dev_names_the_line(tmp_path, tiny_model_dir):
    data = write_data(tmp_path / "t.jsonl")
    dev = tmp_path / "dev.jsonl"
    dev.write_text('{"text": "x", "label": "fact"}\n{"text": "y", "label": "opinion"}\n')
    with pytest.raises(DataError, match=r"dev.jsonl:2: unknown label 'opinion'"):
        train(TrainConfig(train=[str(data)], dev=[str(dev)], output_dir=str(tmp_path / "m"),
                          base=str(tiny_model_dir)))


def test_fit_temperature_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 400)
    logits = rng.normal(size=(400, 3))
    logits[np.arange(400), gold] += 1.0
    assert fit_temperature(logits * 10, gold) > 3.0


def test_interrupted_run_resumes_from_its_checkpoint(tmp_path, tiny_model_dir):
    from transformers import TrainerCallback

    class StopAfterFirstSave(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise KeyboardInterrupt

    data = write_data(tmp_path / "t.jsonl")
    config = TrainConfig(train=[str(data)], output_dir=str(tmp_path / "m"), base=str(tiny_model_dir),
                         epochs=3, batch_size=8, calibrate=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[StopAfterFirstSave()])
    assert list((tmp_path / ".m.checkpoints").glob("checkpoint-*"))
    config.resume = True
    report = train(config)
    assert report["resumed_from"].startswith("checkpoint-")
    assert Tagger.load(tmp_path / "m").classify(["x"])[0].label
