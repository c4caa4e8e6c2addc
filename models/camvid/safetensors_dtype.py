#!/usr/bin/env python3
"""Rewrites a safetensors file with its float tensors in another float type
(F16 to travel in half the bytes, F32 for a bundle). Needs only torch.

Usage: safetensors_dtype.py IN OUT F16|F32
"""

import json
import struct
import sys

import torch

TYPES = {"F16": torch.float16, "F32": torch.float32}


def main():
    source, target, dtype = sys.argv[1:] if len(sys.argv) == 4 else sys.exit(__doc__)
    if dtype not in TYPES:
        sys.exit(f"safetensors_dtype.py: {dtype}: not one of {', '.join(TYPES)}")
    raw = open(source, "rb").read()
    size = struct.unpack("<Q", raw[:8])[0]
    header, data, parts, offset = json.loads(raw[8:8 + size]), raw[8 + size:], [], 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in TYPES:
            sys.exit(f"safetensors_dtype.py: {source}: tensor {name!r} is {entry['dtype']}, not a float type")
        begin, end = entry["data_offsets"]
        values = torch.frombuffer(bytearray(data[begin:end]), dtype=TYPES[entry["dtype"]])
        converted = values.to(TYPES[dtype]).numpy().tobytes()
        entry.update(dtype=dtype, data_offsets=[offset, offset + len(converted)])
        parts.append(converted)
        offset += len(converted)
    text = json.dumps(header).encode()
    with open(target, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(parts))


if __name__ == "__main__":
    main()
