from __future__ import annotations

import pytest

from claimtag.active import select, uncertainty
from claimtag.evaluate import bootstrap_difference


def test_uncertainty_orders_as_expected():
    sure = {"a": 0.98, "b": 0.01, "c": 0.01}
    unsure = {"a": 0.34, "b": 0.33, "c": 0.33}
    for strategy in ("entropy", "margin"):
        assert uncertainty(unsure, strategy) > uncertainty(sure, strategy)
    with pytest.raises(ValueError):
        uncertainty(sure, "vibes")


def test_select_skips_near_duplicates_and_respects_n(tiny_tagger):
    docs = [(f"d{i}", "The council will vote on the budget next week. " * 1 + f"Item {i} was approved by the council on Monday.")
            for i in range(10)]
    picked = select(tiny_tagger, docs, n=5, strategy="entropy", max_similarity=0.8)
    assert 1 <= len(picked) <= 5
    texts = [c.text for c in picked]
    assert texts.count("The council will vote on the budget next week.") <= 1
    assert picked == sorted(picked, key=lambda c: c.uncertainty, reverse=True)


def test_random_strategy_is_seeded(tiny_tagger):
    docs = [(f"d{i}", f"Sentence number {i} is here. Another one {i} follows it.") for i in range(6)]
    first = select(tiny_tagger, docs, n=4, strategy="random", max_similarity=1.0, seed=1)
    again = select(tiny_tagger, docs, n=4, strategy="random", max_similarity=1.0, seed=1)
    assert first == again and len(first) == 4


def test_bootstrap_difference_brackets_a_real_gain():
    gold = ["x", "y"] * 100
    a = ["x"] * 200
    b = gold[:190] + ["x"] * 10
    diff = bootstrap_difference(gold, a, b, ["x", "y"], rounds=300)
    assert diff["difference"] > 0 and 0 < diff["ci_low"] <= diff["difference"] <= diff["ci_high"]
    same = bootstrap_difference(gold, a, a, ["x", "y"], rounds=50)
    assert same["difference"] == 0 and same["ci_low"] == same["ci_high"] == 0
