#!/usr/bin/env python3
"""Produce the reference data for the end-to-end DRN checkpoint conversion test.

Usage: make_reference_drn.py OUT_DIR

Builds a small DRNSeg (drn_d_22, 5 classes, width 0.125) with randomised batch
norm statistics, saves it as a legacy-format training checkpoint (DataParallel
"module." prefixes) and as a zip-format plain state dict, converts both with
models/convert_drn_checkpoint.py, and writes one input and the model's output
for it to io.safetensors.
"""

import os
import subprocess
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(REPO, "models")
sys.path.insert(0, MODELS)

from convert_drn_checkpoint import write_safetensors  # noqa: E402
from drn_reference import DRNSeg  # noqa: E402

ARCH, CLASSES, WIDTH = "drn_d_22", 5, 0.125


def build_model():
    torch.manual_seed(0)
    model = DRNSeg(ARCH, CLASSES, WIDTH)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    return model.eval()


def convert(source, target):
    command = [sys.executable, os.path.join(MODELS, "convert_drn_checkpoint.py"), source,
               "-o", target, "--arch", ARCH, "--classes", str(CLASSES), "--width", str(WIDTH)]
    if subprocess.run(command).returncode != 0:
        sys.exit(f"conversion of {source} failed")
    print(f"converted {source} -> {target}")


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} OUT_DIR")
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    path = lambda name: os.path.join(out_dir, name)  # noqa: E731

    model = build_model()
    state = model.state_dict()
    checkpoint = {"epoch": 3, "state_dict": {"module." + k: v for k, v in state.items()}}
    torch.save(checkpoint, path("checkpoint_legacy.pth"), _use_new_zipfile_serialization=False)
    torch.save(state, path("state_dict_zip.pth"))
    print(f"wrote {path('checkpoint_legacy.pth')} and {path('state_dict_zip.pth')} "
          f"({len(state)} entries)")

    convert(path("checkpoint_legacy.pth"), path("weights_from_legacy.safetensors"))
    convert(path("state_dict_zip.pth"), path("weights_from_zip.safetensors"))

    torch.manual_seed(1)
    x = torch.randn(1, 3, 40, 56)
    with torch.no_grad():
        y = model(x)
    write_safetensors(path("io.safetensors"), {"input": x, "output": y},
                      {"arch": ARCH, "classes": str(CLASSES), "width": str(WIDTH)})
    print(f"wrote {path('io.safetensors')}: input {list(x.shape)}, output {list(y.shape)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
