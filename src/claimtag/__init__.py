"""claimtag: tag every sentence of news text as forecast, denial, claim, fact or other."""

from __future__ import annotations

import logging

from .labels import LabelSet
from .segment import Sentence, split_sentences
from .tagger import Prediction, TaggedSentence, Tagger

__all__ = ["LabelSet", "Prediction", "Sentence", "TaggedSentence", "Tagger", "split_sentences"]
__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
