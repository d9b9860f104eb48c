"""The forward pass behind one small interface: PyTorch, or ONNX Runtime with int8 weights.

A backend takes padded ``input_ids`` and ``attention_mask`` (int64 numpy arrays) and returns
logits as a float32 numpy array. The ONNX model is exported and dynamically quantised on first
use, then cached under a key made from the model's weights and config, so a retrained model never
reuses a stale export.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx")


class Backend(Protocol):
    """Anything that maps a padded token batch to logits."""

    name: str

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray: ...


class TorchBackend:
    """PyTorch inference in float32 (the stored float16 weights are upcast on load)."""

    name = "torch"

    def __init__(self, model_dir: Path, num_threads: int | None = None) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification

        if num_threads:
            torch.set_num_threads(num_threads)
        self._torch = torch
        self.model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, dtype=torch.float32
        ).eval()

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            out = self.model(
                input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask)
            )
        return out.logits.float().numpy()


class OnnxBackend:
    """ONNX Runtime on an int8 dynamically quantised export of the model (CPU)."""

    name = "onnx"

    def __init__(self, model_dir: Path, num_threads: int | None = None) -> None:
        import onnxruntime as ort

        path = onnx_model_path(model_dir)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self.session.get_inputs()}

    def logits(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(input_ids)
        return self.session.run(["logits"], feeds)[0].astype(np.float32, copy=False)


def load_backend(name: str, model_dir: Path, num_threads: int | None = None) -> Backend:
    """Instantiate backend ``name`` ('torch' or 'onnx') for ``model_dir``."""
    if name == "torch":
        return TorchBackend(model_dir, num_threads)
    if name == "onnx":
        return OnnxBackend(model_dir, num_threads)
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


def cache_dir() -> Path:
    """Where exported models live: $CLAIMTAG_CACHE, else ~/.cache/claimtag."""
    root = os.environ.get("CLAIMTAG_CACHE") or Path.home() / ".cache" / "claimtag"
    return Path(root)


def model_hash(model_dir: Path) -> str:
    """A short content hash of the files that determine the model's outputs."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        file = Path(model_dir) / name
        if file.exists():
            digest.update(name.encode())
            with file.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


def onnx_model_path(model_dir: Path) -> Path:
    """Path of the cached int8 ONNX model for ``model_dir``, exporting it on first use."""
    target = cache_dir() / "onnx" / model_hash(model_dir) / "model.int8.onnx"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("exporting %s to ONNX and quantising to int8 (once per model)", model_dir)
    fp32 = target.parent / f"model.fp32.{os.getpid()}.onnx"
    _export_onnx(Path(model_dir), fp32)
    tmp = target.parent / f"model.int8.{os.getpid()}.onnx"
    _quantize(fp32, tmp)
    os.replace(tmp, target)  # atomic: concurrent workers never see a half-written file
    fp32.unlink(missing_ok=True)
    return target


def _export_onnx(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()

    class _Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    torch.onnx.export(
        _Logits(model),
        (ids, mask),
        str(out),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                      "logits": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
