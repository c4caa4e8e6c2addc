#!/usr/bin/python3
"""Plays a DASH stream through gearnn and logs how the adaptor follows the
representation.

    pipelines/dash_play.py (--serve DIR | --url URL) --bundle BUNDLE
        [--switch FRAME:BPS ...] [--start-bps BPS] [--overlay OUT.mp4]
        [--masks DIR] [--summary OUT.json] [--sync]

Pipeline:

    urisourcebin uri=... ! parsebin ! h264parse ! gearnnquality ! avdec_h264 !
        gearnn ! tee ! (gearnnoverlay ! ... ! mp4mux ! filesink)
                     ! (gearnnmask ! pngenc ! multifilesink)
                     ! appsink (statistics)

--serve DIR serves DIR with `python3 -m http.server` on 127.0.0.1 (a free
port picked by the server itself) for the time of the run and plays
DIR/manifest.mpd from it. With --throttle SCHEDULE it serves DIR through
throttled_http.py instead, whose bandwidth follows SCHEDULE (T:BPS,...), and
dashdemux2 picks each representation from its own measured download rate
(natural ABR; no connection-bitrate).

Switching: dashdemux2 picks the representation from its `connection-bitrate`
property when one is set (instead of the measured download rate), at every
fragment. --start-bps sets it before the first fragment, and each
--switch FRAME:BPS sets it again when FRAME frames have come out of gearnn;
the new representation starts at the next fragment dashdemux2 downloads
(after the ones it has already buffered, a few seconds here). BPS may be
given as rN: just enough for the Nth representation by bandwidth (r0 the
lowest), read from the MPD.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict
from dataclasses import dataclass

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

SEG_META = "GearnnSegmentationMeta"


@dataclass
class FrameRecord:
    index: int
    pts: int
    width: int
    height: int
    level: str
    qp: float
    reused: bool
    inference_ms: float
    mask_ok: bool


class HttpServer:
    """python3 -m http.server on 127.0.0.1 and a port the OS picks; stopped on exit."""

    def __init__(self, directory):
        self.proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1",
                                      "--directory", directory],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"port (\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"http.server did not start: {line!r}")
        self.port = int(match.group(1))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def representation_bitrates(url):
    """connection-bitrate values that select each representation (lowest bandwidth first).

    dashdemux2 takes the best representation whose bandwidth fits
    connection-bitrate x bandwidth-target-ratio (0.8 by default)."""
    with urllib.request.urlopen(url, timeout=10) as f:
        root = ET.fromstring(f.read())
    bandwidths = sorted(int(r.get("bandwidth")) for r in root.iter()
                        if r.tag.endswith("Representation") and r.get("bandwidth"))
    return [int(b / 0.8) + 1000 for b in bandwidths]


def resolve_bps(spec, url):
    spec = str(spec)
    if spec.startswith("r"):
        rates = representation_bitrates(url)
        return rates[min(int(spec[1:]), len(rates) - 1)]
    return int(spec)


def build_description(url, bundle, overlay=None, masks=None, sync=False, threads=0, overlay_size="480x360"):
    ow, oh = overlay_size.split("x")
    d = (f'urisourcebin uri="{url}" ! parsebin ! h264parse ! gearnnquality ! avdec_h264 ! '
         f'gearnn name=nn bundle="{bundle}" threads={threads} ! tee name=t '
         f't. ! queue max-size-buffers=8 ! appsink name=stats sync={"true" if sync else "false"} ')
    if overlay:
        # Representations change size; the file gets one fixed size.
        d += (f't. ! queue max-size-buffers=8 ! gearnnoverlay alpha=0.5 ! videoconvert ! videoscale ! '
              f'video/x-raw,format=I420,width={ow},height={oh},pixel-aspect-ratio=1/1 ! '
              f'x264enc speed-preset=ultrafast tune=zerolatency ! h264parse ! mp4mux ! '
              f'filesink location="{overlay}" ')
    if masks:
        d += (f't. ! queue max-size-buffers=8 ! gearnnmask ! pngenc compression-level=1 ! '
              f'multifilesink location="{os.path.join(masks, "mask-%05d.png")}" ')
    return d


def play(url, bundle, switches=(), start_bps=0, overlay=None, masks=None, sync=False, threads=0,
         log=print, timeout_s=300):
    """Plays `url`; returns a summary dict (frames, switches, per-level time, fps, records)."""
    Gst.init(None)
    start_bps = resolve_bps(start_bps, url) if start_bps else 0
    switches = [(frame, resolve_bps(bps, url)) for frame, bps in switches]
    if masks:
        os.makedirs(masks, exist_ok=True)
    pipeline = Gst.parse_launch(build_description(url, bundle, overlay, masks, sync, threads))
    demuxers = []
    pending = sorted(switches)

    def on_element(_bin, _sub, element):
        factory = element.get_factory()
        if factory and factory.get_name() == "dashdemux2":
            demuxers.append(element)
            # Keep little buffered, so that a new connection-bitrate takes effect soon.
            element.set_property("max-buffering-time", Gst.SECOND)
            element.set_property("high-watermark-time", Gst.SECOND)
            if start_bps:
                element.set_property("connection-bitrate", int(start_bps))
            log(f"dashdemux2: connection-bitrate={start_bps or 'measured'}")

    pipeline.connect("deep-element-added", on_element)
    records = []
    stats = pipeline.get_by_name("stats")
    bus = pipeline.get_bus()
    switch_messages = []
    t0 = time.monotonic()
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        raise RuntimeError(_error(bus) or "the pipeline does not start")
    last_size = None
    error = None
    eos_seen = False
    try:
        while True:
            sample = stats.emit("try-pull-sample", 100 * Gst.MSECOND)
            for msg in _drain(bus):
                if msg.type == Gst.MessageType.ERROR:
                    err, debug = msg.parse_error()
                    error = f"{err.message} ({debug})"
                elif msg.type == Gst.MessageType.EOS:
                    eos_seen = True
                elif msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "gearnn-level-switch":
                    s = msg.get_structure()
                    switch_messages.append({"from": s.get_value("from"), "to": s.get_value("to"),
                                            "measured": s.get_value("measured"), "pts": s.get_value("pts")})
                    log(f"  adaptor {s.get_value('from') or '(start)'} -> {s.get_value('to')}  "
                        f"(measured {s.get_value('measured')}, pts {s.get_value('pts') / 1e9:.2f} s)")
            if error:
                break
            if sample is None:
                if stats.get_property("eos"):
                    break
                if time.monotonic() - t0 > timeout_s:
                    error = f"timed out after {timeout_s} s"
                    break
                continue
            buf = sample.get_buffer()
            caps = sample.get_caps().get_structure(0)
            size = (caps.get_value("width"), caps.get_value("height"))
            if size != last_size:
                log(f"representation: {size[0]}x{size[1]} from frame {len(records)} "
                    f"(pts {buf.pts / 1e9:.2f} s)")
                last_size = size
            meta = buf.get_custom_meta(SEG_META)
            s = meta.get_structure() if meta else None
            mask_ok = bool(s) and len(s.get_value("class-map").get_data()) == size[0] * size[1]
            records.append(FrameRecord(
                index=len(records), pts=buf.pts, width=size[0], height=size[1],
                level=s.get_value("level") if s else "",
                qp=s.get_value("measured-qp") if s and s.has_field("measured-qp") else -1.0,
                reused=bool(s and s.get_value("reused")),
                inference_ms=(s.get_value("inference-ns") / 1e6) if s else 0.0, mask_ok=mask_ok))
            while pending and len(records) >= pending[0][0]:
                frame, bps = pending.pop(0)
                for demux in demuxers:
                    demux.set_property("connection-bitrate", int(bps))
                log(f"frame {len(records)}: dashdemux2 connection-bitrate -> {bps}")
        wall = time.monotonic() - t0
        if not error and not eos_seen:
            # Let the file and mask branches finish (the pipeline posts EOS once every sink has it).
            msg = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
            if msg and msg.type == Gst.MessageType.ERROR:
                err, debug = msg.parse_error()
                error = f"{err.message} ({debug})"
    finally:
        pipeline.set_state(Gst.State.NULL)
    if error:
        raise RuntimeError(error)
    return summarize(records, switch_messages, wall)


def summarize(records, switch_messages, wall_s):
    per_level = OrderedDict()
    durations = [b.pts - a.pts for a, b in zip(records, records[1:]) if b.pts > a.pts]
    frame_ns = sorted(durations)[len(durations) // 2] if durations else 0
    for r in records:
        per_level[r.level] = per_level.get(r.level, 0) + frame_ns
    reps = OrderedDict()
    for r in records:
        reps.setdefault(f"{r.width}x{r.height}", Counter())[r.level] += 1
    return {
        "frames": len(records),
        "masks": sum(r.mask_ok for r in records),
        "switches": len([m for m in switch_messages if m["from"]]),
        "switch_log": switch_messages,
        "seconds_per_level": {k: v / 1e9 for k, v in per_level.items()},
        "levels_per_representation": {k: dict(v) for k, v in reps.items()},
        "wall_s": wall_s,
        "fps": len(records) / wall_s if wall_s > 0 else 0.0,
        "mean_inference_ms": sum(r.inference_ms for r in records if not r.reused) /
                             max(1, sum(not r.reused for r in records)),
        "records": [r.__dict__ for r in records],
    }


def print_summary(summary, out=sys.stdout):
    print(f"frames: {summary['frames']} (masks: {summary['masks']}), adaptor switches: {summary['switches']}, "
          f"{summary['fps']:.1f} fps over {summary['wall_s']:.1f} s "
          f"(mean inference {summary['mean_inference_ms']:.1f} ms)", file=out)
    print("stream time per level:", file=out)
    for level, seconds in summary["seconds_per_level"].items():
        print(f"  {level:>16}: {seconds:6.1f} s", file=out)
    print("levels chosen per representation:", file=out)
    for rep, levels in summary["levels_per_representation"].items():
        print(f"  {rep:>9}: " + ", ".join(f"{k} x{v}" for k, v in levels.items()), file=out)


def _drain(bus):
    while True:
        msg = bus.pop()
        if msg is None:
            return
        yield msg


def _error(bus):
    msg = bus.pop_filtered(Gst.MessageType.ERROR)
    if msg is None:
        return None
    err, debug = msg.parse_error()
    return f"{err.message} ({debug})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--serve", metavar="DIR", help="serve DIR on 127.0.0.1 and play DIR/manifest.mpd")
    src.add_argument("--url", help="an MPD URL")
    ap.add_argument("--throttle", metavar="SCHEDULE",
                    help="with --serve: serve at this bandwidth schedule, T:BPS,... (natural ABR)")
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--start-bps", default="0", help="dashdemux2 connection-bitrate at the start (BPS or rN)")
    ap.add_argument("--switch", action="append", default=[], metavar="FRAME:BPS",
                    help="set connection-bitrate to BPS once FRAME frames are out (repeatable)")
    ap.add_argument("--overlay", help="write the overlay video (mp4) here")
    ap.add_argument("--masks", help="write one PNG class mask per frame into this folder")
    ap.add_argument("--summary", help="write the summary (JSON) here")
    ap.add_argument("--sync", action="store_true", help="play in real time (default: as fast as inference)")
    ap.add_argument("--threads", type=int, default=0, help="gearnn threads (0: LibTorch's default)")
    args = ap.parse_args()
    switches = []
    for s in args.switch:
        frame, bps = s.split(":")
        switches.append((int(frame), bps))
    if args.throttle and (not args.serve or switches or args.start_bps != "0"):
        ap.error("--throttle needs --serve and excludes --switch and --start-bps (dashdemux2 measures the rate)")
    try:
        if args.serve:
            server_type = HttpServer
            if args.throttle:
                sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
                from throttled_http import ThrottledServer
                server_type = lambda d: ThrottledServer(d, args.throttle)  # noqa: E731
            with server_type(args.serve) as server:
                url = f"http://127.0.0.1:{server.port}/manifest.mpd"
                print(f"serving {args.serve} at http://127.0.0.1:{server.port}/"
                      + (f", bandwidth schedule {args.throttle} (bit/s)" if args.throttle else ""))
                summary = play(url, args.bundle, switches, args.start_bps, args.overlay, args.masks, args.sync,
                               args.threads)
                for line in getattr(server, "log", []):
                    if ".m4s" in line and "init" not in line:
                        print(f"  served {line}")
        else:
            summary = play(args.url, args.bundle, switches, args.start_bps, args.overlay, args.masks, args.sync,
                           args.threads)
    except RuntimeError as e:
        print(f"dash_play: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
