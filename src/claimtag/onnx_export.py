"""The int8 ONNX file of a model: shipped in its directory, or exported once and cached.

A model directory may carry ``onnx/model_quantized.onnx`` with its sha256 and the hash of the
weights it was made from in ``claimtag.json`` (``extra.onnx``); ``claimtag train`` writes both,
so the bundled model's fast path is the same file on every machine, whatever exporter and
onnxruntime versions pip resolves there. A directory without one (any plain Hugging Face model)
is exported and quantised on first use and cached under a key made from its weights and config,
so a retrained model never reuses a stale export.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .model_files import quiet_loading
from .span_head import HEAD_FILE, WithSpans, has_head, load_head

if TYPE_CHECKING:
    from transformers import PretrainedConfig

logger = logging.getLogger(__name__)

#: Names the quantisation recipe in the cache path, so a changed recipe never reuses old files.
QUANT_RECIPE = "fused-int8pc5"
#: Where a model directory keeps its own int8 model (Optimum / transformers.js layout).
SHIPPED_ONNX = "onnx/model_quantized.onnx"


class OnnxMismatchError(RuntimeError):
    """A shipped ONNX file that does not belong to the weights beside it, or is corrupt."""


def cache_dir() -> Path:
    """Where exported models live: $CLAIMTAG_CACHE, else ~/.cache/claimtag."""
    root = os.environ.get("CLAIMTAG_CACHE") or Path.home() / ".cache" / "claimtag"
    return Path(root)


def model_hash(model_dir: Path) -> str:
    """A short content hash of the files that determine the model's outputs."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "tokenizer.json", HEAD_FILE):
        file = Path(model_dir) / name
        if file.exists():
            digest.update(name.encode())
            with file.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shipped_onnx(model_dir: Path) -> Path | None:
    """The directory's own int8 file if it has one that matches its weights, else ``None``.

    A file whose recorded weights hash differs from the weights present (the directory was
    retrained or edited by hand) is ignored with a warning, and the model is exported instead;
    a file whose own sha256 differs from the recorded one is corrupt: an error.
    """
    path = Path(model_dir) / SHIPPED_ONNX
    if not path.is_file():
        return None
    meta_file = Path(model_dir) / "claimtag.json"
    record = json.loads(meta_file.read_text()).get("extra", {}).get("onnx") if meta_file.is_file() else None
    if not record:
        logger.warning("%s has no sha256 in claimtag.json; exporting instead of trusting it", path)
        return None
    if record.get("weights_hash") != model_hash(model_dir):
        logger.warning("%s was built from other weights; exporting the current ones", path)
        return None
    if file_sha256(path) != record.get("sha256"):
        raise OnnxMismatchError(f"{path}: sha256 differs from claimtag.json; the file is corrupt, "
                                "reinstall the model or delete the onnx/ folder to re-export")
    return path


def onnx_model_path(model_dir: Path) -> Path:
    """The int8 model for ``model_dir``: the shipped file, else the cached export (made once)."""
    shipped = shipped_onnx(model_dir)
    if shipped is not None:
        return shipped
    target = cache_dir() / "onnx" / model_hash(model_dir) / f"model.{QUANT_RECIPE}.onnx"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("exporting %s to ONNX and quantising to int8 (once per model)", model_dir)
    build_int8(Path(model_dir), target)
    return target


def build_int8(model_dir: Path, target: Path) -> None:
    """Export ``model_dir`` to ONNX, fuse it and quantise it into ``target``, atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fp32 = target.parent / f"model.fp32.{os.getpid()}.onnx"
    fused = target.parent / f"model.fused.{os.getpid()}.onnx"
    config = _export_onnx(Path(model_dir), fp32)
    _fuse(fp32, fused, config)
    tmp = target.parent / f"{target.stem}.{os.getpid()}.tmp"
    _quantize(fused, tmp)
    os.replace(tmp, target)  # atomic: concurrent workers never see a half-written file
    fp32.unlink(missing_ok=True)
    fused.unlink(missing_ok=True)


def ship_int8(model_dir: Path) -> dict[str, str]:
    """Build ``onnx/model_quantized.onnx`` inside ``model_dir``; returns the record for
    ``claimtag.json`` (``extra.onnx``): file, sha256, weights hash, recipe and tool versions."""
    import onnxruntime
    import torch

    target = Path(model_dir) / SHIPPED_ONNX
    build_int8(Path(model_dir), target)
    return {"file": SHIPPED_ONNX, "sha256": file_sha256(target),
            "weights_hash": model_hash(model_dir), "recipe": QUANT_RECIPE,
            "torch": torch.__version__, "onnxruntime": onnxruntime.__version__}


def _export_onnx(model_dir: Path, out: Path) -> PretrainedConfig:
    """The float32 graph with logits (and span logits when the model has a head); returns the
    model's config. Eager attention, because ONNX Runtime's fuser knows its pattern (matmul,
    mask add, softmax, matmul) and not the one the SDPA path exports."""
    import torch
    from transformers import AutoModelForSequenceClassification

    with quiet_loading():
        model = AutoModelForSequenceClassification.from_pretrained(
            model_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()

    class _Logits(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits

    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
            "logits": {0: "batch"}}
    if has_head(model_dir):  # one graph, two outputs: the encoder runs once for both
        module: torch.nn.Module = WithSpans(model, load_head(model_dir, model.config.hidden_size))
        outputs = ["logits", "span_logits"]
        axes["span_logits"] = {0: "batch", 1: "seq"}
    else:
        module, outputs = _Logits(model), ["logits"]
    torch.onnx.export(module, (ids, mask), str(out), input_names=["input_ids", "attention_mask"],
                      output_names=outputs, dynamic_axes=axes, opset_version=17, dynamo=False)
    return model.config


def _fuse(src: Path, dst: Path, config: PretrainedConfig) -> None:
    """ONNX Runtime's transformer fusions: each layer's attention becomes one ``Attention``
    node (int8 as ``QAttention`` after quantisation), the embeddings one
    ``EmbedLayerNormalization``, bias + GELU and residual + LayerNorm one node each. On
    claimtag-news 0.4.0 the int8 forward pass on 2 threads went from 255-266 to 277-283
    sentences/s (three alternating runs each, real sentences) with label agreement against
    float32 as before (98.3% -> 98.5% on the real dev split, 99.5% -> 99.6% on synthetic test).
    A graph whose patterns the fuser does not know is saved as it is, still correct."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    optimize_model(str(src), model_type="bert", num_heads=heads, hidden_size=hidden,
                   opt_level=0).save_model_to_file(str(dst))


def _quantize(src: Path, dst: Path) -> None:
    """int8 weights with one scale per output channel, for the MatMuls that tolerate it.

    Activations are quantised per tensor at run time, so a MatMul whose input has large outliers
    loses most precision. Kept float: the two attention MatMuls (activation by activation; in a
    fused graph they are inside ``QAttention``, which computes them in float32 after its int8
    Q/K/V projection), the FFN down-projection fed by GELU (``output/dense``, DistilBERT's
    ``lin2``) in every layer, and in the first layer, which reads the embeddings' few outlier
    dimensions, also the attention output and the FFN up-projection; the pooler and the
    classifier (Gemm, which the quantizer rewrites as ``<name>_MatMul``) read one token per
    sentence and the span head is tiny, so there is no time to gain there. Q/K/V everywhere and
    the rest of the FFN up-projections, most of the FLOPs, run in int8. On a low-confidence
    trial model int8 per channel moved label agreement with PyTorch from 95.4% (everything per
    tensor) to 99.5%; on claimtag-news 0.4.0 this choice of float nodes moved agreement on the
    real dev split from 98.5% (every output projection float, the first layer int8) to 98.8%,
    and int8 macro-F1 from 0.015 below PyTorch's to 0.001, in a file of the same size. The
    embedding tables (``Gather``) are stored in int8 too: a lookup loses nothing to activation
    outliers, and the word table in float32 would be two thirds of the file (72 MB against 30
    MB).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src)).graph
    weights = {init.name for init in graph.initializer}
    keep_float: list[str] = []
    for node in graph.node:
        name = node.name
        if node.op_type == "Gemm":
            keep_float += [name, f"{name}_MatMul"]
        elif name.startswith("/head/") or node.op_type == "MatMul" and (
                not any(i in weights for i in node.input)
                or any(part in name for part in _FFN_DOWN) and "/attention/" not in name
                or "/layer.0/" in name and any(part in name for part in _FIRST_LAYER_FLOAT)):
            keep_float.append(name)
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Attention", "EmbedLayerNormalization", "Gather"],
                     nodes_to_exclude=keep_float,
                     # the fused nodes are in ONNX Runtime's own domain, which shape inference
                     # does not know: their outputs are float32
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


#: Name fragments of the FFN down-projection (BERT/RoBERTa, DistilBERT), float in every layer.
_FFN_DOWN = ("/output/dense/", "/lin2/")
#: Name fragments also kept float in the first layer: attention output and FFN up-projection.
_FIRST_LAYER_FLOAT = ("/attention/output/dense/", "/out_lin/", "/intermediate/dense/", "/lin1/")
