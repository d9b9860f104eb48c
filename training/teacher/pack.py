"""Pack a safetensors model as per-row int8 chunks, each under a size limit.

The device machine receives at most 64 MiB a call: all-mpnet-base-v2 (438 MB in float32)
travels as three int8 chunks (per-row absmax scales, about 0.4% error, then fine-tuned) and
run.py joins and dequantizes them. Run:
python -m training.teacher.pack MODEL.safetensors .gpu mp 50000000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def pack(source: Path, out: Path, prefix: str, limit: int) -> list[Path]:
    chunks: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, value in load_file(source).items():
        value = value.float()
        if value.ndim == 2 and value.numel() > 4096:
            scale = value.abs().amax(dim=1, keepdim=True).clamp_min(1e-8) / 127
            part = {f"{name}.__q": torch.round(value / scale).to(torch.int8).contiguous(),
                    f"{name}.__s": scale.contiguous()}
        else:
            part = {name: value.contiguous()}
        n = sum(t.numel() * t.element_size() for t in part.values())
        if size + n > limit and chunks[-1]:
            chunks.append({})
            size = 0
        chunks[-1].update(part)
        size += n
    files = []
    for i, chunk in enumerate(chunks):
        folder = out / f"{prefix}{i}"
        folder.mkdir(parents=True, exist_ok=True)
        files.append(folder / f"{prefix}.part{i}.safetensors")
        save_file(chunk, str(files[-1]))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("prefix")
    parser.add_argument("limit", type=int)
    args = parser.parse_args()
    for file in pack(args.source, args.out, args.prefix, args.limit):
        print(file, file.stat().st_size)


if __name__ == "__main__":
    main()
