from __future__ import annotations

import numpy as np
import pytest

from claimtag import Prediction, TaggedSentence, Tagger
from claimtag.labels import UNCERTAIN
from claimtag.model_files import ModelNotFoundError


def test_classify_returns_one_prediction_per_sentence_in_order(tiny_tagger):
    sentences = ["Short.", "A much longer sentence with many more words in it than the first.", "Mid one."]
    predictions = tiny_tagger.classify(sentences)
    assert len(predictions) == 3
    assert all(isinstance(p, Prediction) for p in predictions)
    one_by_one = [tiny_tagger.classify([s])[0] for s in sentences]
    for batched, single in zip(predictions, one_by_one):
        assert batched.label == single.label
        assert batched.score == pytest.approx(single.score, abs=1e-4)


def test_scores_are_probabilities_over_the_label_set(tiny_tagger):
    p = tiny_tagger.classify(["The bridge was not damaged."])[0]
    assert set(p.scores) == set(tiny_tagger.labels.names)
    assert sum(p.scores.values()) == pytest.approx(1.0, abs=1e-3)
    assert p.label == max(p.scores, key=p.scores.get)
    assert p.score == pytest.approx(p.scores[p.label])


def test_empty_list_and_string_argument(tiny_tagger):
    assert tiny_tagger.classify([]) == []
    with pytest.raises(TypeError, match="tag"):
        tiny_tagger.classify("a sentence")


def test_overlong_input_is_truncated_and_flagged(tiny_tagger):
    long = "word " * 5000
    p, short = tiny_tagger.classify([long, "Short sentence."])
    assert p.truncated and not short.truncated


def test_tag_gives_offsets_into_the_text(tiny_tagger, seed_text):
    tagged = tiny_tagger.tag(seed_text)
    assert len(tagged) == 18
    assert all(isinstance(t, TaggedSentence) for t in tagged)
    assert all(seed_text[t.start : t.end] == t.text for t in tagged)


def test_tag_empty_text(tiny_tagger):
    assert tiny_tagger.tag("") == []
    assert tiny_tagger.tag("  \n ") == []


def test_tag_many_matches_tag_and_streams(tiny_tagger):
    docs = ["One. Two sentences here.", "", "A third document. With more. And more."]
    many = list(tiny_tagger.tag_many(iter(docs), window=2))
    assert [len(r) for r in many] == [2, 0, 3]
    assert [[t.label for t in r] for r in many] == [[t.label for t in tiny_tagger.tag(d)] for d in docs]


def test_min_score_abstains(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir, min_score=0.99)
    assert tagger.classify(["Anything at all."])[0].label == UNCERTAIN


def test_temperature_changes_confidence_not_label(tiny_model_dir):
    tagger = Tagger.load(tiny_model_dir)
    before = tagger.classify(["A sentence."])[0]
    tagger.meta.temperature = 0.01
    after = tagger.classify(["A sentence."])[0]
    assert after.label == before.label and after.score > before.score


def test_to_dict_is_json_ready(tiny_tagger):
    import json

    row = tiny_tagger.tag("It will rain tomorrow.")[0].to_dict()
    assert json.loads(json.dumps(row))["text"] == "It will rain tomorrow."


def test_missing_model_dir_names_the_path(tmp_path):
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        Tagger.load(tmp_path)


def test_padding_is_masked(tiny_tagger):
    ids, mask = tiny_tagger._pad([[101, 5, 102], [101, 102]])
    assert ids.shape == (2, 3) and mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert ids.dtype == np.int64
