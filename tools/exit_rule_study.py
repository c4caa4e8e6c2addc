#!/usr/bin/env python3
"""How many frames could leave at a bundle's early exit for a given mIoU loss,
per confidence rule, in hindsight. For each frame of a split it runs the
bundle's base and its one exit head (models/drn_reference.py, on the clean
PNG frames), keeps both class maps' confusion matrices against the labels and
a score per rule; then, for each rule, it lets the frames out in the rule's
order and prints the largest share that stays within 0.5 and 1 mIoU point of
the network. "agree" ranks frames by the pixels where the exit and the
network agree, which no runtime rule can know: a reference, not a rule.

Usage: exit_rule_study.py BUNDLE DATA_ROOT SPLIT [--only-sequence S]
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "models"))
sys.path.insert(0, here)
from bench_pytorch import read_safetensors  # noqa: E402
from drn_reference import DRNSeg  # noqa: E402

RULES = ("mean top probability", "pixels above 0.5", "pixels above 0.7", "pixels above 0.9",
         "minus mean entropy", "mean top-2 margin", "agree")


def rule_scores(probs, exit_map, net_map):
    top2 = probs.topk(2, 1).values[0]
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(1)
    return [top2[0].mean().item(), (top2[0] > 0.5).float().mean().item(), (top2[0] > 0.7).float().mean().item(),
            (top2[0] > 0.9).float().mean().item(), -entropy.mean().item(), (top2[0] - top2[1]).mean().item(),
            float((exit_map == net_map).mean())]


def miou(confusion):
    inter = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - inter
    return 100.0 * (inter[union > 0] / union[union > 0]).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle")
    parser.add_argument("data")
    parser.add_argument("split")
    parser.add_argument("--only-sequence")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)

    with open(os.path.join(args.bundle, "manifest.json")) as f:
        manifest = json.load(f)
    heads = manifest.get("exits", {}).get("heads", [])
    if len(heads) != 1:
        sys.exit(f"{args.bundle}: this study takes a bundle with exactly one exit ({len(heads)} found)")
    head = heads[0]
    arch = manifest["architecture"]
    classes = len(manifest["classes"])
    model = DRNSeg(arch["name"], classes, arch.get("width", 1.0)).eval()
    model.load_state_dict(read_safetensors(os.path.join(args.bundle, manifest["base"]["file"])), strict=True)
    weights = read_safetensors(os.path.join(args.bundle, manifest["exits"]["file"]))
    stage = int(head["after"].split(".")[1])
    dilation = head.get("dilation", 1)
    mean = torch.tensor(manifest["normalization"]["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(manifest["normalization"]["std"]).view(1, 3, 1, 1)

    frames = []
    with open(os.path.join(args.data, args.split + ".txt")) as f:
        pairs = [line.split() for line in f if line.strip()]
    if args.only_sequence:
        pairs = [p for p in pairs if os.path.basename(p[0]).startswith(args.only_sequence + "_")]
    with torch.inference_mode():
        for image_path, label_path in pairs:
            image = np.array(Image.open(os.path.join(args.data, *image_path.split("/")[-2:])).convert("RGB"))
            label = np.array(Image.open(os.path.join(args.data, *label_path.split("/")[-2:])))
            x = (torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255 - mean) / std
            features = model.base[:stage + 1](x)
            h = features
            for i in range(head["convs"]):
                prefix = f"exit.{head['after']}.conv{i}"
                h = torch.relu(F.conv2d(h, weights[prefix + ".weight"], weights[prefix + ".bias"],
                                        padding=dilation, dilation=dilation))
            scores = F.conv2d(h, weights[f"exit.{head['after']}.classifier.weight"],
                              weights[f"exit.{head['after']}.classifier.bias"])
            height, width = label.shape
            exit_map = F.interpolate(scores, scale_factor=8, mode="bilinear",
                                     align_corners=False).argmax(1)[0, :height, :width].numpy()
            net_map = model.up(model.seg(model.base[stage + 1:](features))).argmax(1)[0, :height, :width].numpy()
            valid = label < classes

            def confusion(prediction):
                cells = label[valid].astype(np.int64) * classes + prediction[valid]
                return np.bincount(cells, minlength=classes * classes).reshape(classes, classes)

            frames.append((rule_scores(torch.softmax(scores, 1), exit_map, net_map),
                           confusion(exit_map), confusion(net_map)))

    network = miou(sum(f[2] for f in frames))
    print(f"{len(frames)} frames of {args.split}{' ' + args.only_sequence if args.only_sequence else ''}: "
          f"network {network:.2f}, every frame out at {head['after']} {miou(sum(f[1] for f in frames)):.2f}")
    out = [f[0][0] >= head["threshold"] for f in frames]
    shipped = miou(sum(f[1] if o else f[2] for f, o in zip(frames, out)))
    print(f"the bundle's threshold {head['threshold']:.3f} on the mean top probability: "
          f"{100 * np.mean(out):.1f}% out, {shipped:.2f} ({network - shipped:.2f} lost)")
    for r, rule in enumerate(RULES):
        order = sorted(range(len(frames)), key=lambda i: -frames[i][0][r])
        best = {0.5: 0, 1.0: 0}
        exit_sum, net_sum = np.zeros_like(frames[0][1]), sum(f[2] for f in frames)
        for k in range(len(frames) + 1):
            if k:
                exit_sum = exit_sum + frames[order[k - 1]][1]
                net_sum = net_sum - frames[order[k - 1]][2]
            lost = network - miou(exit_sum + net_sum)
            for budget in best:
                if lost <= budget:
                    best[budget] = k
        print(f"  {rule:22s} out within 0.5 point: {100 * best[0.5] / len(frames):5.1f}%, "
              f"within 1 point: {100 * best[1.0] / len(frames):5.1f}%")


if __name__ == "__main__":
    main()
