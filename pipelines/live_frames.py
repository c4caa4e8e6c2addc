"""What the live-source players share: the build's plugin found when the
environment names none, one record per frame out of `gearnn` (read from its
segmentation meta at an appsink), the bus drained without blocking, and
per-stretch summaries of the levels chosen."""
import glob
import json
import os
from collections import Counter
from dataclasses import dataclass

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

SEG_META = "GearnnSegmentationMeta"


def _point_at_build():
    """As pipelines/common.sh: without a GST_PLUGIN_PATH, the newest build's plugin (and its registry)."""
    if os.environ.get("GST_PLUGIN_PATH"):
        return
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    builds = [b for b in [os.path.join(root, "build")] + glob.glob(os.path.join(root, "build-*"))
              if os.path.isfile(os.path.join(b, "gst", "libgstgearnn.so"))]
    if builds:
        build = max(builds, key=lambda b: os.path.getmtime(os.path.join(b, "gst", "libgstgearnn.so")))
        os.environ["GST_PLUGIN_PATH"] = os.path.join(build, "gst")
        os.environ.setdefault("GST_REGISTRY", os.path.join(build, "gst-registry.bin"))


_point_at_build()


@dataclass
class LiveFrame:
    index: int
    pts: int
    arrival_s: float     # seconds since the player started
    width: int
    height: int
    level: str
    qp: float            # measured H.264 QP, -1 when not measured
    jpeg_quality: float  # measured JPEG quality, -1 when not measured
    mask_ok: bool        # a class map of the frame's size came with it


def frame_of(sample, index, arrival_s):
    buf = sample.get_buffer()
    caps = sample.get_caps().get_structure(0)
    width, height = caps.get_value("width"), caps.get_value("height")
    meta = buf.get_custom_meta(SEG_META)
    s = meta.get_structure() if meta else None

    def field(name):
        return s.get_value(name) if s and s.has_field(name) else -1.0

    return LiveFrame(index=index, pts=buf.pts, arrival_s=arrival_s, width=width, height=height,
                     level=s.get_value("level") if s else "", qp=field("measured-qp"),
                     jpeg_quality=field("measured-jpeg-quality"),
                     mask_ok=bool(s) and len(s.get_value("class-map").get_data()) == width * height)


def drain(bus):
    """Every message waiting on `bus`, without blocking."""
    while True:
        msg = bus.pop()
        if msg is None:
            return
        yield msg


def error_text(msg):
    err, debug = msg.parse_error()
    return f"{err.message} ({debug})"


def start(pipeline, what):
    """Sets `pipeline` PLAYING; raises RuntimeError with the bus's error (a bad bundle, a missing file) when it
    cannot start."""
    if pipeline.set_state(Gst.State.PLAYING) != Gst.StateChangeReturn.FAILURE:
        return
    msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    raise RuntimeError(f"{what} does not start" + (f": {error_text(msg)}" if msg else ""))


def levels_summary(frames):
    """{level: frames} and the mean measured QP (None when nothing was measured)."""
    qps = [f.qp for f in frames if f.qp >= 0]
    return dict(Counter(f.level for f in frames)), (sum(qps) / len(qps) if qps else None)


class FrameLimit:
    """A buffer probe that counts the frames crossing a pad and, with a limit,
    ends the stream there after that many (EOS downstream, later frames
    dropped); attach with pad.add_probe(Gst.PadProbeType.BUFFER, limit.probe)."""

    def __init__(self, limit=0):
        self.limit, self.count, self.ended = limit, 0, False

    def probe(self, pad, _info):
        if self.limit and self.count >= self.limit:
            if not self.ended:
                self.ended = True
                pad.push_event(Gst.Event.new_eos())
            return Gst.PadProbeReturn.DROP
        self.count += 1
        return Gst.PadProbeReturn.OK


def write_summary(summary, path):
    """The summary as JSON at `path` (its folder made), and a line saying where."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"wrote {path}")
