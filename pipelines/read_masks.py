#!/usr/bin/python3
"""A Python client of gst-gearnn: runs a pipeline through `gearnn` and reads
each frame's class map at an appsink, from the segmentation meta, with
nothing compiled for Python (python3-gst-1.0 only).

    pipelines/read_masks.py BUNDLE [--video FILE] [--frames N] [--size WxH] [--json]

Without --video it reads Debian's opencv-doc vtest.avi when installed, else
a test pattern. Prints one line per frame (level, reuse, class histogram),
or a JSON list with --json. Needs GST_PLUGIN_PATH to reach libgstgearnn.so
when the plugin is not installed.

As a module: `read_masks(description)` yields a `Frame` for every buffer that
reaches the appsink named "sink" in a gst-launch description.
"""
import argparse
import json
import os
import sys
from dataclasses import dataclass, field

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

META = "GearnnSegmentationMeta"
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


@dataclass
class Frame:
    pts: int
    width: int
    height: int
    classes: int
    level: str
    reused: bool
    inference_ms: float
    mask: bytes  # width * height class indices, row-major
    measured: dict = field(default_factory=dict)
    buffer_bytes: bytes = b""  # the buffer's own data (a GRAY8 mask when gearnnmask is last)

    def histogram(self):
        counts = [0] * self.classes
        for c in self.mask:
            counts[c] += 1
        return counts


def frame_of(buf):
    """The segmentation of one Gst.Buffer, or None without the meta."""
    meta = buf.get_custom_meta(META)
    if meta is None:
        return None
    s = meta.get_structure()
    measured = {}
    for name in ("measured-width", "measured-height", "measured-qp", "measured-jpeg-quality",
                 "measured-brightness"):
        if s.has_field(name):
            measured[name[len("measured-"):]] = s.get_value(name)
    ok, data = buf.map(Gst.MapFlags.READ)
    own = bytes(data.data) if ok else b""
    if ok:
        buf.unmap(data)
    return Frame(pts=buf.pts, width=s.get_value("width"), height=s.get_value("height"),
                 classes=s.get_value("classes"), level=s.get_value("level"),
                 reused=s.get_value("reused"), inference_ms=s.get_value("inference-ns") / 1e6,
                 mask=s.get_value("class-map").get_data(), measured=measured, buffer_bytes=own)


def read_masks(description):
    """Runs a gst-launch description whose appsink is named "sink"; yields Frames."""
    Gst.init(None)
    pipeline = Gst.parse_launch(description)
    sink = pipeline.get_by_name("sink")
    sink.set_property("sync", False)
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        raise RuntimeError(error_of(pipeline) or "the pipeline does not start")
    try:
        while True:
            sample = sink.emit("pull-sample")
            if sample is None:
                break
            frame = frame_of(sample.get_buffer())
            if frame is None:
                raise RuntimeError("a frame reached the appsink without a segmentation meta")
            yield frame
        error = error_of(pipeline)
        if error:
            raise RuntimeError(error)
    finally:
        pipeline.set_state(Gst.State.NULL)


def error_of(pipeline):
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    if msg is None:
        return None
    err, debug = msg.parse_error()
    return f"{err.message} ({debug})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--video", help="a video file (default: vtest.avi if installed, else a test pattern)")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--size", default="320x240", help="WxH the frames are scaled to")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    video = args.video or (VTEST if os.path.exists(VTEST) else None)
    source = (f'filesrc location="{video}" ! decodebin' if video else "videotestsrc pattern=ball")
    description = (f"{source} ! videoconvert ! videoscale ! "
                   f"video/x-raw,width={width},height={height},pixel-aspect-ratio=1/1 ! "
                   f'gearnn bundle="{args.bundle}" ! appsink name=sink')
    frames = []
    try:
        for i, frame in enumerate(read_masks(description)):
            if i >= args.frames:
                break
            frames.append(frame)
            if not args.json:
                print(f"frame {i}: {frame.width}x{frame.height} level={frame.level} reused={frame.reused} "
                      f"inference={frame.inference_ms:.1f} ms classes={frame.histogram()}")
    except RuntimeError as e:
        print(f"read_masks: {e}", file=sys.stderr)
        return 1
    if args.json:
        json.dump([{"pts": f.pts, "width": f.width, "height": f.height, "classes": f.classes,
                    "level": f.level, "reused": f.reused, "histogram": f.histogram(),
                    "measured": f.measured} for f in frames], sys.stdout)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
