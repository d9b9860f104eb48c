"""The span head: saved beside a model, run in the same pass, decoded to exact offsets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import build_tiny_model

from claimtag.span_head import TAGS, HeadConfig, SpanHead, has_head, save_head
from claimtag.spans import Span, decode, named_sources, normalized_index


@pytest.fixture(scope="module")
def head_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random model with a random span head whose `source` tags fire often."""
    import torch

    # only labels that carry a source, so that the random classifier never gates spans away
    out = build_tiny_model(tmp_path_factory.mktemp("tiny-spans"), labels=("forecast", "claim"))
    torch.manual_seed(1)
    head = SpanHead(32, HeadConfig(layers=(1, -1), hidden=16))
    with torch.no_grad():
        head.out.bias[TAGS.index("B-source")] += 3.0
    record = save_head(head, out)
    meta_file = out / "claimtag.json"
    meta = json.loads(meta_file.read_text())
    meta.setdefault("extra", {})["spans"] = record
    meta_file.write_text(json.dumps(meta))
    return out


def test_normalized_index_maps_back_to_the_original() -> None:
    original = "  He   said\n so. "
    normal, where = normalized_index(original)
    assert normal == "He said so."
    assert "".join(original[i] for i in where) == "He said so."
    assert where[normal.index("so")] == original.index("so")
    for plain in ("He said so.", "Tab\tthere.", "Non\u00a0breaking."):
        normal, where = normalized_index(plain)
        assert normal == " ".join(plain.split())
        assert all(plain[w] == c for c, w in zip(normal, where) if c != " ")


def test_decode_widens_to_words_and_gates_by_label() -> None:
    text = "Officials  said it will rain tomorrow."
    # tokens of the normalised text "Officials said it will rain tomorrow."
    offsets = [(0, 0), (0, 5), (5, 9), (10, 14), (15, 17), (18, 22), (23, 27), (28, 36),
               (36, 37), (0, 0)]
    probs = np.full((len(offsets), len(TAGS)), 0.01)
    probs[:, 0] = 0.9
    for t, tag in [(1, "B-source"), (2, "I-source"), (3, "B-cue"), (7, "B-when")]:
        probs[t] = 0.01
        probs[t, TAGS.index(tag)] = 0.9
    found = decode(probs, offsets, text, "forecast")
    assert {k: v.text for k, v in found.items()} == {
        "source": "Officials", "cue": "said", "when": "tomorrow"}
    assert all(text[v.start:v.end] == v.text for v in found.values())
    assert set(decode(probs, offsets, text, "claim")) == {"source", "cue"}
    assert decode(probs, offsets, text, "fact") == {}


def test_decode_keeps_a_token_whose_span_probability_is_split_between_b_and_i() -> None:
    """Argmax would say O for "Friday" (0.55 against 0.25 + 0.2); B + I says inside."""
    text = "Officials said it will rain on Friday."
    offsets = [(0, 0), (0, 9), (10, 14), (15, 17), (18, 22), (23, 27), (28, 30), (31, 37),
               (37, 38), (0, 0)]
    probs = np.full((len(offsets), len(TAGS)), 0.0)
    probs[:, 0] = 1.0
    probs[7] = 0.0
    probs[7, [0, TAGS.index("B-when"), TAGS.index("I-when")]] = [0.55, 0.2, 0.25]
    assert decode(probs, offsets, text, "forecast")["when"].text == "on Friday"
    probs[7, [0, TAGS.index("B-when"), TAGS.index("I-when")]] = [0.7, 0.1, 0.2]
    assert "when" not in decode(probs, offsets, text, "forecast")


def test_decode_snaps_a_when_to_its_time_expression_and_drops_one_that_names_no_time() -> None:
    text = "It will reopen on Monday,  officials said, as needed."
    # tokens of "It will reopen on Monday, officials said, as needed."
    offsets = [(0, 0), (0, 2), (3, 7), (8, 14), (15, 17), (18, 24), (24, 25), (26, 35),
               (36, 40), (40, 41), (42, 44), (45, 51), (51, 52), (0, 0)]
    probs = np.full((len(offsets), len(TAGS)), 0.0)
    probs[:, 0] = 1.0
    probs[4] = 0.0
    probs[5, TAGS.index("B-when")] = 1.0  # "Monday": the head left out the preposition
    when = decode(probs, offsets, text, "forecast")["when"]
    assert (when.text, text[when.start:when.end]) == ("on Monday", "on Monday")
    probs[5] = 0.0
    probs[5, 0] = 1.0
    probs[11] = 0.0
    probs[11, TAGS.index("B-when")] = 1.0  # "needed": no time at all
    assert "when" not in decode(probs, offsets, text, "forecast")


def test_pronoun_sources_name_the_last_named_source() -> None:
    spans = [Span("Carter", 0, 6, 0.9), None, Span("he", 0, 2, 0.9), Span("They", 0, 4, 0.8)]
    assert named_sources(spans) == [None, None, "Carter", "Carter"]
    assert named_sources([Span("he", 0, 2, 0.9)]) == [None]


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_tagger_gives_spans_with_exact_offsets(head_model_dir: Path, backend: str,
                                               tmp_path: Path, monkeypatch) -> None:
    from claimtag import Tagger

    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    text = "Officials said the talks will resume next week.  He   denied   it."
    tagged = Tagger.load(head_model_dir, backend=backend).tag(text, date="2020-03-02")
    assert len(tagged) == 2
    for sentence in tagged:
        for span in (sentence.source, sentence.cue, sentence.when):
            if span is not None:
                assert text[span.start:span.end] == span.text
                assert sentence.start <= span.start < span.end <= sentence.end
        if sentence.label not in ("claim", "denial", "forecast"):
            assert sentence.source is None and sentence.cue is None
        assert sentence.to_dict()["label"] == sentence.label


def test_onnx_spans_agree_with_torch(head_model_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from claimtag import Tagger

    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    sentences = ["Officials said the talks will resume next week.", "He denied it.",
                 "The minister told reporters on Monday that prices would fall."]
    torch_out = Tagger.load(head_model_dir, backend="torch").classify(sentences)
    onnx_out = Tagger.load(head_model_dir, backend="onnx").classify(sentences)
    assert [p.label for p in torch_out] == [p.label for p in onnx_out]
    assert any(p.spans for p in torch_out), "the biased head should tag some source"
    assert [{k: v.text for k, v in p.spans.items()} for p in torch_out] == \
           [{k: v.text for k, v in p.spans.items()} for p in onnx_out]


def test_a_model_without_head_has_no_spans(tiny_tagger) -> None:
    [result] = tiny_tagger.tag("Officials said it will rain.")
    assert result.source is None and result.cue is None and result.when is None
    assert not has_head(tiny_tagger.model_dir)


def test_head_changes_the_onnx_cache_key(head_model_dir: Path, tmp_path: Path) -> None:
    from claimtag.onnx_export import model_hash

    copy = Path(shutil.copytree(head_model_dir, tmp_path / "copy"))
    before = model_hash(copy)
    (copy / "span_head.safetensors").unlink()
    assert model_hash(copy) != before


def _span_rows(path: Path, n: int) -> Path:
    """Span-annotated rows: "<Name> said ..." with the name as source and "said" as cue."""
    names = ["Carter", "Fallon", "The ministry", "Police", "Officials", "The mayor"]
    rows = []
    for i in range(n):
        name = names[i % len(names)]
        text = f"{name} said the bridge will reopen next week."
        rows.append({"doc_id": f"d{i}", "sent_index": 0, "text": text, "label": "forecast",
                     "spans": {"source": [0, len(name)], "cue": [len(name) + 1, len(name) + 5],
                               "when": [text.index("next week"), text.index("next week") + 9]}})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_train_spans_gives_a_model_its_head_without_moving_labels(tmp_path: Path,
                                                                   monkeypatch) -> None:
    from typer.testing import CliRunner

    from claimtag import Tagger
    from claimtag.cli import app

    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    model = build_tiny_model(tmp_path / "m", labels=("forecast", "claim"))
    sentences = ["Officials said talks will resume next week.", "He denied it."]
    before = Tagger.load(model).classify(sentences)
    result = CliRunner().invoke(app, ["train-spans", "--model", str(model),
                                      "--train", str(_span_rows(tmp_path / "t.jsonl", 60)),
                                      "--dev", str(_span_rows(tmp_path / "d.jsonl", 12)),
                                      "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert has_head(model) and "spans" in json.loads((model / "claimtag.json").read_text())["extra"]
    after = Tagger.load(model).classify(sentences)
    assert [p.scores for p in after] == [p.scores for p in before]  # frozen encoder
    bad = CliRunner().invoke(app, ["train-spans", "--model", str(model), "--train",
                                   str(tmp_path / "t.jsonl"), "--dev", str(tmp_path / "none.jsonl")])
    assert bad.exit_code != 0


def test_html_report_lists_spans_and_due_dates() -> None:
    from claimtag.html_report import ReportDocument, render_report
    from claimtag.labels import LabelSet

    text = "He said it will end next week."
    row = {"start": 0, "end": len(text), "label": "forecast", "score": 0.9,
           "scores": {"forecast": 0.9}, "source": {"text": "He", "start": 0, "end": 2},
           "cue": {"text": "said", "start": 3, "end": 7}, "named_source": "Carter",
           "when": {"text": "next week", "start": 20, "end": 29},
           "due": {"start": "2016-10-31", "end": "2016-11-06", "confidence": 0.85, "rule": "r"}}
    page = render_report([ReportDocument(text, [row])], LabelSet.default(), model="m@1")
    assert "He (Carter)" in page and "next week (due 2016-10-31 to 2016-11-06)" in page


def _two_label_rows(path: Path, n: int) -> Path:
    """As :func:`_span_rows`, every other row a claim with no `when` (the baseline needs two
    labels)."""
    rows = [json.loads(line) for line in _span_rows(path, n).read_text().splitlines()]
    for row in rows[1::2]:
        name = row["text"].split(" said ")[0]
        row.update(text=f"{name} said the bridge was closed.", label="claim",
                   spans={k: v for k, v in row["spans"].items() if k != "when"})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_adapt_stage_trains_labels_and_spans_together(tmp_path: Path, monkeypatch) -> None:
    """`claimtag train --adapt` moves the encoder (labels change) and its head learns the spans
    it was shown: the tiny model finds the source and the `when` of a training sentence."""
    from typer.testing import CliRunner

    from claimtag import Tagger
    from claimtag.cli import app

    monkeypatch.setenv("CLAIMTAG_CACHE", str(tmp_path / "cache"))
    base = build_tiny_model(tmp_path / "m", labels=("forecast", "claim"))
    rows = _two_label_rows(tmp_path / "t.jsonl", 200)  # enough for the first stage's head
    dev = _two_label_rows(tmp_path / "d.jsonl", 12)
    args = ["train", "--base", str(base), "--train", str(rows), "--dev", str(dev),
            "--epochs", "1", "--learning-rate", "1e-4"]
    frozen = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "frozen")])
    assert frozen.exit_code == 0, frozen.output
    result = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "joint"), "--adapt",
                                      str(rows), "--adapt-epochs", "3",
                                      "--adapt-learning-rate", "1e-3", "--adapt-seeds", "1,2"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "joint" / "claimtag.json").read_text())
    assert meta["extra"]["adapt"]["epochs"] == 3 and meta["extra"]["adapt"]["train_sentences"] == 200
    assert meta["extra"]["adapt"]["seeds"] == [1, 2]  # two runs, averaged
    assert meta["extra"]["spans"]["encoder_trained_with_head"] is True
    assert meta["extra"]["onnx"]["weights_hash"]  # the int8 file was built after the stage
    sentence = ["Police said the bridge will reopen next week."]
    before = Tagger.load(tmp_path / "frozen").classify(sentence)[0]
    after = Tagger.load(tmp_path / "joint").classify(sentence)[0]
    assert after.scores != before.scores
    assert after.spans["source"].text == "Police"
    assert after.spans["when"].text == "next week"
    (tmp_path / "empty.jsonl").write_text("")
    empty = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "x"), "--adapt",
                                     str(tmp_path / "empty.jsonl")])
    assert empty.exit_code != 0 and "--adapt: no sentences" in str(empty.exception)


def test_a_forecast_without_a_when_from_the_head_takes_its_forward_time_expression() -> None:
    text = "The vote will be held tonight."
    offsets = [(0, 0), (0, 3), (4, 8), (9, 13), (14, 16), (17, 21), (22, 29), (29, 30), (0, 0)]
    probs = np.full((len(offsets), len(TAGS)), 0.0)
    probs[:, 0] = 1.0
    when = decode(probs, offsets, text, "forecast")["when"]
    assert (when.text, when.start, when.score) == ("tonight", 22, 0.0)
    assert "when" not in decode(probs, offsets, "The vote was held last night.", "forecast")
    assert "when" not in decode(probs, offsets, text, "claim")


def test_a_cut_name_in_an_apposition_gives_way_to_the_phrase_it_belongs_to() -> None:
    text = "Cooke's daughter, Susan Cooke Kittredge, said it was wrong."
    words = [(0, 7), (8, 16), (16, 17), (18, 23), (24, 29), (30, 39), (39, 40), (41, 45),
             (46, 48), (49, 52), (53, 58), (58, 59)]
    offsets = [(0, 0), *words, (0, 0)]
    probs = np.full((len(offsets), len(TAGS)), 0.0)
    probs[:, 0] = 1.0
    for token in (5, 6):  # the head marks "Cooke Kittredge": the name without its first word
        probs[token] = 0.0
        probs[token, TAGS.index("B-source")] = 1.0
    source = decode(probs, offsets, text, "claim")["source"]
    assert (source.text, source.start) == ("Cooke's daughter", 0)


def test_a_source_that_is_a_lone_function_word_is_dropped() -> None:
    text = "In the report, officials said it was wrong."
    words = [(0, 2), (3, 6), (7, 13), (13, 14), (15, 24), (25, 29), (30, 32), (33, 36), (37, 42),
             (42, 43)]
    offsets = [(0, 0), *words, (0, 0)]
    probs = np.full((len(offsets), len(TAGS)), 0.0)
    probs[:, 0] = 1.0
    probs[2] = 0.0
    probs[2, TAGS.index("B-source")] = 1.0  # "the": a stray token
    assert "source" not in decode(probs, offsets, text, "claim")
    probs[2] = 0.0
    probs[2, 0] = 1.0
    probs[5] = 0.0
    probs[5, TAGS.index("B-source")] = 1.0  # "officials"
    assert decode(probs, offsets, text, "claim")["source"].text == "officials"


def test_a_claim_hedged_by_reportedly_has_no_source() -> None:
    """training/guidelines.md, "Sourceless claims": "reportedly" is the cue, the source null."""
    text = "Kimura reportedly made several posts."
    words = [(0, 6), (7, 17), (18, 22), (23, 30), (31, 36), (36, 37)]
    offsets = [(0, 0), *words, (0, 0)]
    probs = np.full((len(offsets), len(TAGS)), 0.0)
    probs[:, 0] = 1.0
    probs[1] = 0.0
    probs[1, TAGS.index("B-source")] = 1.0  # "Kimura"
    probs[2] = 0.0
    probs[2, TAGS.index("B-cue")] = 1.0  # "reportedly"
    spans = decode(probs, offsets, text, "claim")
    assert spans["cue"].text == "reportedly" and "source" not in spans
    said = "Kimura said she made several posts."
    probs[2] = 0.0
    probs[2, TAGS.index("B-cue")] = 1.0  # now "said": a reporting verb keeps its source
    words = [(0, 6), (7, 11), (12, 15), (16, 20), (21, 28), (29, 34), (34, 35)]
    offsets = [(0, 0), *words, (0, 0)]
    probs = np.vstack([probs[:-1], probs[-1:], probs[-1:]])
    spans = decode(probs, offsets, said, "claim")
    assert spans["cue"].text == "said" and spans["source"].text == "Kimura"
