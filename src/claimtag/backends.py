"""The forward pass behind one small interface: PyTorch, or ONNX Runtime with int8 weights.

A backend takes padded ``input_ids`` and ``attention_mask`` (int64 numpy arrays) and returns
logits as a float32 numpy array; :meth:`forward` also returns the span head's per-token logits
when the model has one (:mod:`claimtag.span_head`), from the same pass. The ONNX backend runs
the int8 file a model directory ships in
``onnx/model_quantized.onnx`` (the layout of Optimum and transformers.js; the bundled model has
one, built by its recipe, so every user runs the same bytes); a model without one is exported
and quantised once and cached (see :mod:`claimtag.onnx_export`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np

from .model_files import quiet_loading
from .onnx_export import onnx_model_path
from .span_head import WithSpans, has_head, load_head

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx")


class Backend(Protocol):
    """Anything that maps a padded token batch to logits."""

    name: str
    has_spans: bool  #: whether :meth:`forward` returns span logits

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray | None]: ...


class TorchBackend:
    """PyTorch inference in float32 (the stored float16 weights are upcast on load)."""

    name = "torch"

    def __init__(self, model_dir: Path, num_threads: int | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification

        if num_threads:
            torch.set_num_threads(num_threads)
        self._torch = torch
        with quiet_loading():
            self.model = AutoModelForSequenceClassification.from_pretrained(
                model_dir, dtype=torch.float32
            ).eval()
        self.spans = (WithSpans(self.model, load_head(model_dir, self.model.config.hidden_size))
                      if has_head(model_dir) else None)
        self.has_spans = self.spans is not None

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask)
            )
        return out.logits.float().numpy()

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray | None]:
        if self.spans is None:
            return self.logits(input_ids, attention_mask), None
        torch = self._torch
        with torch.inference_mode():
            logits, span_logits = self.spans(torch.from_numpy(input_ids),
                                             torch.from_numpy(attention_mask))
        return logits.float().numpy(), span_logits.float().numpy()


class OnnxBackend:
    """ONNX Runtime on an int8 dynamically quantised export of the model (CPU)."""

    name = "onnx"

    def __init__(
        self, model_dir: Path, num_threads: int | None = None, *, spin: bool = True
    ) -> None:
        """``spin=False``: idle worker threads sleep instead of busy-waiting for the next run,
        which a process that also does other work (the HTTP server) needs."""
        import onnxruntime as ort

        path = onnx_model_path(model_dir)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        if not spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._outputs = ["logits"] + [o.name for o in self.session.get_outputs()
                                      if o.name == "span_logits"]
        self.has_spans = len(self._outputs) > 1

    def _feeds(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return feeds

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        return self.forward(input_ids, attention_mask)[0]

    def forward(self, input_ids: np.ndarray, attention_mask: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray | None]:
        out = self.session.run(self._outputs, self._feeds(input_ids, attention_mask))
        spans = out[1].astype(np.float32, copy=False) if len(out) > 1 else None
        return out[0].astype(np.float32, copy=False), spans


def load_backend(
    name: str, model_dir: Path, num_threads: int | None = None, *, spin: bool = True
) -> Backend:
    """Instantiate backend ``name`` ('torch' or 'onnx') for ``model_dir``; ``spin`` is
    :class:`OnnxBackend`'s (torch has no such switch)."""
    if name == "torch":
        return TorchBackend(model_dir, num_threads)
    if name == "onnx":
        return OnnxBackend(model_dir, num_threads, spin=spin)
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
