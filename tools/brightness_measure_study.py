#!/usr/bin/env python3
"""Which luma statistic tells a brightness level apart from the scene's own
brightness? For CamVid frames changed by each factor of the brightness
bundle (each RGB value times the factor, clipped, as gearnn distort does),
it computes the frame's mean luma (the runtime's measure), its median, its
90th and 99th percentiles, and the share of pixels clipped (a channel at
255); describes each factor by the statistic's mean over
the training frames (without the held-out sequence), as gearnn adapt
describes a level; and prints, per split, the share of frames whose nearest
description is their own factor (the element's rule, without hysteresis). Luma: BT.601 weights on
every fourth pixel of every fourth row. Frames are decoded with ffmpeg.

Usage: brightness_measure_study.py DATA_ROOT [--held-out 0006R0] [--step 1]
"""

import argparse
import os
import subprocess

import numpy as np

FACTORS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.5, 2.0)
STATISTICS = ("mean", "median", "p90", "p99", "clipped")


def read_rgb(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    size = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                           "stream=width,height", "-of", "csv=p=0", path],
                          capture_output=True, check=True, text=True).stdout.strip().split(",")
    return np.frombuffer(raw, np.uint8).reshape(int(size[1]), int(size[0]), 3)


def statistics(rgb, factor):
    changed = np.clip(np.floor(rgb[::4, ::4].astype(np.float32) * np.float32(factor)), 0, 255)
    luma = changed @ np.array([0.299, 0.587, 0.114], np.float32)
    clipped = (changed.max(axis=2) >= 255).mean()
    return np.array([luma.mean(), np.percentile(luma, 50), np.percentile(luma, 90), np.percentile(luma, 99), clipped])


def frames(root, split, keep):
    with open(os.path.join(root, split + ".txt")) as f:
        paths = [os.path.join(root, line.split()[0]) for line in f if line.strip()]
    return [p for p in paths if keep(os.path.basename(p))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data")
    parser.add_argument("--held-out", default="0006R0")
    parser.add_argument("--step", type=int, default=1, help="every STEP-th frame of each split")
    a = parser.parse_args()
    splits = {
        "train (describes)": frames(a.data, "train", lambda n: not n.startswith(a.held_out)),
        "val": frames(a.data, "val", lambda n: True),
        a.held_out: frames(a.data, "train", lambda n: n.startswith(a.held_out)),
    }
    values = {}  # split -> [frame, factor, statistic]
    for name, paths in splits.items():
        values[name] = np.array([[statistics(rgb, f) for f in FACTORS]
                                 for rgb in (read_rgb(p) for p in paths[::a.step])])
    described = values["train (describes)"].mean(axis=0)  # [factor, statistic]
    print("| statistic | split | " + " | ".join(f"{f:g}" for f in FACTORS) + " | all |")
    print("|---|---|" + "---:|" * (len(FACTORS) + 1))
    for s, statistic in enumerate(STATISTICS):
        for name, v in values.items():
            distance = np.abs(v[:, :, s, None] - described[None, None, :, s])
            right = distance.argmin(axis=2) == np.arange(len(FACTORS))[None, :]
            print(f"| {statistic} | {name} | " + " | ".join(f"{100 * r:.0f}%" for r in right.mean(axis=0)) +
                  f" | {100 * right.mean():.0f}% |")
    print("\nDescriptions (luma 0..255; clipped: the share): " + "; ".join(
        f"{statistic} " + ", ".join(f"{described[i, s]:.3g}" for i in range(len(FACTORS)))
        for s, statistic in enumerate(STATISTICS)))
    print("Median per split at factors 1, 1.5, 2: " + "; ".join(
        f"{statistic} " + ", ".join(f"{name} " + "/".join(f"{np.median(v[:, i, s]):.3g}" for i in (5, 6, 7))
                                    for name, v in values.items())
        for s, statistic in enumerate(STATISTICS)))


if __name__ == "__main__":
    main()
