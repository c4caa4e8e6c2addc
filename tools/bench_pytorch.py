#!/usr/bin/env python3
"""PyTorch's side of tools/bench_peers.sh: the bundle's base weights in the
reference DRNSeg (models/drn_reference.py), timed on the input tensor that
`gearnn bench forward --save-input` wrote, eager and as frozen TorchScript,
each as forward then argmax over classes. Prints one JSON object.

Usage: bench_pytorch.py BUNDLE INPUT.safetensors [--threads T] [--frames N] [--warmup K]
"""

import argparse
import json
import os
import statistics
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from drn_reference import DRNSeg  # noqa: E402

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        flat = torch.frombuffer(bytearray(body[start:end]), dtype=DTYPES[info["dtype"]])
        tensors[name] = flat.reshape(info["shape"]).clone()
    return tensors


def timed(run, x, frames, warmup):
    times = []
    for i in range(warmup + frames):
        start = time.perf_counter()
        run(x)
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("input")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with open(os.path.join(args.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    arch = manifest["architecture"]
    model = DRNSeg(arch["name"], len(manifest["classes"]), arch.get("width", 1.0))
    model.load_state_dict(read_safetensors(os.path.join(args.bundle, manifest["base"]["file"])), strict=True)
    model.eval()
    x = read_safetensors(args.input)["input"]

    result = {"threads": torch.get_num_threads(), "torch": torch.__version__, "frames": args.frames,
              "input": list(x.shape)}
    with torch.inference_mode():
        eager = timed(lambda t: model(t).argmax(1), x, args.frames, args.warmup)
        eager_forward = timed(model, x, args.frames, args.warmup)
    result["eager_forward_argmax_ms_median"], result["eager_forward_argmax_ms_best"] = eager
    result["eager_forward_ms_median"] = eager_forward[0]
    with torch.no_grad():
        frozen = torch.jit.freeze(torch.jit.trace(model, x).eval())
        result["torchscript_frozen_forward_argmax_ms_median"], result["torchscript_frozen_forward_argmax_ms_best"] = \
            timed(lambda t: frozen(t).argmax(1), x, args.frames, args.warmup)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
