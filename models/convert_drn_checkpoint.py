#!/usr/bin/env python3
"""Convert a fyu/drn DRN checkpoint (torch.save file) into a safetensors tensor file.

The input may be in the legacy or the zip serialization format and hold either
a plain state dict or a training checkpoint with a ``state_dict`` entry.
``module.`` prefixes (DataParallel) are stripped, ``num_batches_tracked``
counters dropped, and every tensor is stored as little-endian float32.

With --arch (and --classes, optionally --width) the key set and the shapes are
checked against the reference DRNSeg of drn_reference.py before writing.

Importable: write_safetensors() is shared with the tests.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

DTYPES = {  # torch dtype -> (safetensors name, little-endian numpy dtype)
    torch.float32: ("F32", "<f4"),
    torch.float64: ("F64", "<f8"),
    torch.float16: ("F16", "<f2"),
    torch.int64: ("I64", "<i8"),
    torch.int32: ("I32", "<i4"),
    torch.uint8: ("U8", "u1"),
}


class ConversionError(Exception):
    """A problem with the input, reported as one line naming the file."""


def write_safetensors(path, tensors, metadata=None):
    """Write {name: tensor} to path in safetensors layout, data in name order."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in DTYPES:
            raise ValueError(f"tensor {name!r}: dtype {t.dtype} cannot be stored")
        dtype_name, np_dtype = DTYPES[t.dtype]
        data = t.numpy().astype(np_dtype, copy=False).tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for data in blobs:
            f.write(data)


def load_state_dict(path):
    """Load path and return its state dict as {name: float32 tensor}, names cleaned."""
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # torch raises many kinds for unreadable/truncated files
        raise ConversionError(f"{path}: cannot be loaded (missing, truncated or not a torch.save "
                              f"file): {type(e).__name__}: {e}") from e
    if not isinstance(obj, dict):
        raise ConversionError(f"{path}: holds a {type(obj).__name__}, not a state dict")
    if "state_dict" in obj:
        obj = obj["state_dict"]
        if not isinstance(obj, dict):
            raise ConversionError(f"{path}: 'state_dict' entry is a {type(obj).__name__}, not a dict")
    if not any(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConversionError(f"{path}: holds no tensors (keys: {', '.join(map(str, obj)) or 'none'})")
    out = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f"{path}: entry {key!r} is not a tensor ({type(value).__name__})")
        name = key[len("module."):] if key.startswith("module.") else key
        if name == "num_batches_tracked" or name.endswith(".num_batches_tracked"):
            continue
        if name in out:
            raise ConversionError(f"{path}: key {name!r} occurs twice once 'module.' is stripped")
        out[name] = value.detach().float().contiguous()
    if not out:
        raise ConversionError(f"{path}: holds only num_batches_tracked counters")
    return out


def check_against_reference(path, state, arch, classes, width):
    """Raise ConversionError unless state has exactly the reference DRNSeg keys and shapes."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from drn_reference import DRNSeg, exported_state_dict

    reference = exported_state_dict(DRNSeg(arch, classes, width))
    what = f"{path}: does not match {arch} (classes={classes}, width={width}): "
    for key in reference:
        if key not in state:
            raise ConversionError(what + f"missing key {key!r}")
    for key in state:
        if key not in reference:
            raise ConversionError(what + f"unexpected key {key!r}")
    for key, ref in reference.items():
        if state[key].shape != ref.shape:
            raise ConversionError(what + f"key {key!r} has shape {list(state[key].shape)}, "
                                  f"expected {list(ref.shape)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="checkpoint written by torch.save")
    parser.add_argument("-o", "--output", required=True, help="safetensors file to write")
    parser.add_argument("--arch", choices=["drn_d_22", "drn_d_38", "drn_c_26"],
                        help="check the tensors against this reference DRNSeg")
    parser.add_argument("--classes", type=int, help="number of classes (required with --arch)")
    parser.add_argument("--width", type=float, default=1.0,
                        help="channel width factor of the reference (default 1.0)")
    args = parser.parse_args(argv)
    if (args.arch is None) != (args.classes is None):
        parser.error("--arch and --classes go together")
    if args.classes is not None and args.classes < 1:
        parser.error("--classes must be at least 1")
    if args.width <= 0:
        parser.error("--width must be positive")

    try:
        state = load_state_dict(args.input)
        if args.arch:
            check_against_reference(args.input, state, args.arch, args.classes, args.width)
        write_safetensors(args.output, state, {"source": os.path.basename(args.input),
                                               "format": "gearnn-drn-weights"})
    except ConversionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"error: {args.output}: cannot be written: {e}", file=sys.stderr)
        return 1
    values = sum(t.numel() for t in state.values())
    print(f"wrote {len(state)} tensors ({values} values) to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
