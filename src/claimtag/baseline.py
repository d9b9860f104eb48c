"""The TF-IDF + logistic-regression baseline every model is reported against.

It trains in seconds, so reports retrain it on the same data instead of shipping a pickle.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class TfidfBaseline:
    """Word 1-2-grams and character 2-5-grams, TF-IDF weighted, multinomial logistic regression."""

    def __init__(self, c: float = 4.0, seed: int = 0) -> None:
        self.c = c
        self.seed = seed
        self.pipeline = None

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TfidfBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union

        features = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        )
        classifier = LogisticRegression(C=self.c, max_iter=3000, class_weight="balanced",
                                        random_state=self.seed)
        self.pipeline = make_pipeline(features, classifier).fit(list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        """Labels and the probability of each predicted label."""
        if self.pipeline is None:
            raise RuntimeError("fit() the baseline before predict()")
        probs = self.pipeline.predict_proba(list(texts))
        classes = self.pipeline.classes_
        best = np.argmax(probs, axis=1)
        return [str(classes[i]) for i in best], [float(probs[r, i]) for r, i in enumerate(best)]
