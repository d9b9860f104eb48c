"""Saving fine-tuned weights and calibrating them: shared by both training stages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def save_weights(model: Any, model_dir: Path) -> None:
    """Save a sequence classifier in float16 (half the bytes) with a config that says float32,
    so that plain ``transformers`` (whose default dtype is the config's) computes in float32 on
    CPU, where float16 matmuls are several times slower. The model is float16 afterwards."""
    model.half().save_pretrained(model_dir, safe_serialization=True)
    file = Path(model_dir) / "config.json"
    config = json.loads(file.read_text())
    config["dtype"] = "float32"
    file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """Temperature T minimising dev negative log-likelihood of softmax(logits / T)."""
    import torch

    logits_t = torch.tensor(logits, dtype=torch.float32)
    gold_t = torch.tensor(gold, dtype=torch.long)
    log_t = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits_t / log_t.exp(), gold_t)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp().clamp(0.05, 20.0))
