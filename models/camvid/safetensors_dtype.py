#!/usr/bin/env python3
"""Rewrites a safetensors file with its float tensors in another float type
(F16 to travel in half the bytes, F32 for a bundle). Needs only torch.

Usage: safetensors_dtype.py IN OUT F16|F32
"""

import os
import sys

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, ".."))
sys.path.insert(0, os.path.join(here, "..", "..", "tools"))
from bench_pytorch import read_safetensors  # noqa: E402
from convert_drn_checkpoint import write_safetensors  # noqa: E402

TYPES = {"F16": torch.float16, "F32": torch.float32}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in TYPES:
        sys.exit(__doc__)
    source, target, dtype = sys.argv[1:]
    tensors = read_safetensors(source)
    for name, t in tensors.items():
        if not t.is_floating_point():
            sys.exit(f"safetensors_dtype.py: {source}: tensor {name!r} is {t.dtype}, not a float type")
    write_safetensors(target, {name: t.to(TYPES[dtype]) for name, t in tensors.items()})


if __name__ == "__main__":
    main()
