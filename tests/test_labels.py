from __future__ import annotations

import pytest

from claimtag.labels import DEFAULT_PRECEDENCE, LabelError, LabelSet


def test_default_set_matches_guidelines():
    labels = LabelSet.default()
    assert labels.names == ("forecast", "denial", "claim", "fact", "other")
    assert labels.precedence == ("denial", "forecast", "claim", "fact", "other")
    assert labels.display_name("fact") == "statement of fact"


def test_id_maps_are_inverse():
    labels = LabelSet.default()
    assert {v: k for k, v in labels.id2label.items()} == labels.label2id


def test_dict_round_trip():
    labels = LabelSet.from_names(["spam", "ham"])
    assert LabelSet.from_dict(labels.to_dict()) == labels


def test_from_id2label_accepts_string_keys_and_orders_by_id():
    labels = LabelSet.from_id2label({"1": "b", "0": "a"})
    assert labels.names == ("a", "b")


def test_from_names_restores_default_order_for_default_set():
    assert LabelSet.from_names(sorted(DEFAULT_PRECEDENCE)).names == LabelSet.default().names


def test_custom_set_keeps_known_precedence_first():
    labels = LabelSet.from_names(["rumour", "fact", "denial"])
    assert labels.precedence == ("denial", "fact", "rumour")


def test_check_names_location_and_choices():
    with pytest.raises(LabelError, match=r"dev.jsonl:7: unknown label 'opinion'.*forecast"):
        LabelSet.default().check("opinion", "dev.jsonl:7")


@pytest.mark.parametrize("names", [[], ["a", "a"], ["uncertain", "b"]])
def test_invalid_sets_are_rejected(names):
    with pytest.raises(LabelError):
        LabelSet(tuple(names))
