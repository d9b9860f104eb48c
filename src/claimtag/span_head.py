"""The span head: who said it (``source``), the reporting word (``cue``) and, for forecasts,
when it is due (``when``), tagged per token on the sentence classifier's own encoder.

The head reads two hidden layers of the fine-tuned encoder (a middle one keeps more of the
token's surface, the last one more of its role), projects them down, and tags every token with
BIO tags through a width-3 convolution, so a tag sees its neighbours. The encoder is shared: one
forward pass gives both. The head is first fitted on the frozen encoder (:mod:`claimtag.span_train`,
sentence labels untouched); the default recipe then trains both together on the span-annotated
real text (:mod:`claimtag.adapt`). The head lives beside the model
as ``span_head.safetensors`` (float16; its settings in ``claimtag.json`` ``extra.spans``), which plain
``transformers`` ignores, so ``pipeline("text-classification", model=DIR)`` still loads the
sentence classifier.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

SPAN_TYPES = ("source", "cue", "when")
#: BIO tags, ``O`` first; the ONNX graph and the torch backend output logits in this order.
TAGS = ("O", *(f"{p}-{t}" for t in SPAN_TYPES for p in ("B", "I")))
HEAD_FILE = "span_head.safetensors"


@dataclass(frozen=True)
class HeadConfig:
    """Which encoder layers the head reads and its width."""

    layers: tuple[int, ...] = (3, -1)  #: indices into ``hidden_states`` (0 = embeddings)
    hidden: int = 128
    kernel: int = 3
    tags: tuple[str, ...] = TAGS
    dropout: float = 0.1  #: on the encoder features, in training only

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "layers": list(self.layers), "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, data: dict) -> HeadConfig:
        return cls(tuple(data["layers"]), int(data["hidden"]), int(data["kernel"]),
                   tuple(data["tags"]), float(data.get("dropout", 0.0)))


def head_features(hidden_states: tuple[torch.Tensor, ...], layers: tuple[int, ...]) -> torch.Tensor:
    """The chosen layers side by side; an index past a shallow encoder's depth means its last
    layer, so the same settings serve a 2-layer test model."""
    n = len(hidden_states)
    return torch.cat([hidden_states[max(-n, min(i, n - 1))] for i in layers], dim=-1)


class SpanHead(nn.Module):
    """Hidden states of the chosen layers -> BIO logits per token."""

    def __init__(self, encoder_width: int, config: HeadConfig = HeadConfig()) -> None:
        super().__init__()
        self.config = config
        width = encoder_width * len(config.layers)
        self.down = nn.Linear(width, config.hidden)
        self.conv = nn.Conv1d(config.hidden, config.hidden, config.kernel,
                              padding=config.kernel // 2)
        self.act = nn.GELU()
        self.drop = nn.Dropout(config.dropout)
        self.out = nn.Linear(config.hidden, len(config.tags))

    def features(self, hidden_states: tuple[torch.Tensor, ...]) -> torch.Tensor:
        return head_features(hidden_states, self.config.layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """``features``: (batch, tokens, width) -> (batch, tokens, tags)."""
        x = self.act(self.down(self.drop(features)))
        x = self.act(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return self.out(x)


def has_head(model_dir: Path) -> bool:
    return (Path(model_dir) / HEAD_FILE).is_file()


def save_head(head: SpanHead, model_dir: Path) -> dict[str, object]:
    """Write the head's weights; returns the record for ``claimtag.json`` ``extra.spans``."""
    from safetensors.torch import save_file

    # float16 on disk like the encoder's weights (loaded back as float32): half the bytes
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in head.state_dict().items()},
              str(Path(model_dir) / HEAD_FILE))
    return {"file": HEAD_FILE, **head.config.to_dict()}


def load_head(model_dir: Path, encoder_width: int) -> SpanHead:
    """The head of ``model_dir``; its settings come from ``claimtag.json``."""
    from safetensors.torch import load_file

    meta = json.loads((Path(model_dir) / "claimtag.json").read_text(encoding="utf-8"))
    record = meta.get("extra", {}).get("spans")
    if not record:
        raise ValueError(f"{model_dir}: {HEAD_FILE} present but claimtag.json has no extra.spans")
    head = SpanHead(encoder_width, HeadConfig.from_dict(record))
    head.load_state_dict({k: v.float() for k, v in load_file(str(Path(model_dir) / HEAD_FILE)).items()})
    return head.eval()


class WithSpans(nn.Module):
    """A sequence classifier plus its span head: ``(logits, span_logits)`` from one pass
    (what the torch backend runs and what the ONNX export traces)."""

    def __init__(self, classifier: nn.Module, head: SpanHead) -> None:
        super().__init__()
        self.classifier = classifier
        self.head = head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.classifier(input_ids=input_ids, attention_mask=attention_mask,
                              output_hidden_states=True)
        return out.logits, self.head(self.head.features(out.hidden_states))
