#!/usr/bin/python3
"""The Python client (pipelines/read_masks.py) reads masks at an appsink.

Checks that the masks read from the meta in Python are the very class maps
the C side writes (gearnnmask's GRAY8 output of the same frames), and that
the command line runs. Needs GEARNN_CLI (the gearnn command, for a bundle)
and GST_PLUGIN_PATH (the build's gst folder).
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("GEARNN_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "pipelines"))
import read_masks  # noqa: E402


def main():
    cli = os.environ["GEARNN_CLI"]
    with tempfile.TemporaryDirectory() as tmp:
        bundle = os.path.join(tmp, "bundle")
        subprocess.run([cli, "bundle", "random", "--arch", "drn_d_22", "--width", "0.125", "--classes", "5",
                        "--kind", "abr", "-o", bundle], check=True, stdout=subprocess.DEVNULL)

        # Odd size: the GRAY8 rows are padded to 4 bytes, the meta's are not.
        w, h = 45, 27
        desc = (f"videotestsrc num-buffers=6 pattern=ball ! video/x-raw,format=I420,width={w},height={h} ! "
                f"gearnn bundle={bundle} interval=2 ! gearnnmask ! appsink name=sink")
        frames = list(read_masks.read_masks(desc))
        assert len(frames) == 6, len(frames)
        stride = (w + 3) & ~3
        for i, f in enumerate(frames):
            assert (f.width, f.height, f.classes) == (w, h, 5), (f.width, f.height, f.classes)
            assert len(f.mask) == w * h
            assert max(f.mask) < 5
            gray = b"".join(f.buffer_bytes[y * stride:y * stride + w] for y in range(h))
            assert gray == f.mask, f"frame {i}: Python's mask differs from gearnnmask's"
            assert f.reused == (i % 2 == 1), (i, f.reused)
            assert f.level.startswith("240x180-"), f.level
            assert f.measured.get("width") == w
            assert sum(f.histogram()) == w * h
        assert frames[0].mask == frames[1].mask  # reused

        out = subprocess.run([sys.executable, os.path.join(ROOT, "pipelines", "read_masks.py"), bundle,
                              "--frames", "3", "--size", "64x48", "--json"],
                             check=True, capture_output=True, text=True).stdout
        listed = json.loads(out)
        assert len(listed) == 3, listed
        for f in listed:
            assert (f["width"], f["height"]) == (64, 48)
            assert sum(f["histogram"]) == 64 * 48
    print("python client: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
