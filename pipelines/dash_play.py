#!/usr/bin/python3
"""Plays a DASH or HLS stream through gearnn and logs how the adaptor follows
the representation.

    pipelines/dash_play.py (--serve DIR | --url URL) --bundle BUNDLE
        [--switch FRAME:BPS ...] [--start-bps BPS] [--overlay OUT.mp4]
        [--masks DIR] [--summary OUT.json] [--sync] [--early-exit [--exit-threshold-scale S]]
        [--target-miou M]

Pipeline:

    urisourcebin uri=... ! parsebin ! h264parse ! gearnnquality ! avdec_h264 !
        gearnn ! tee ! (gearnnoverlay ! ... ! mp4mux ! filesink)
                     ! (gearnnmask ! pngenc ! multifilesink)
                     ! appsink (statistics)

--serve DIR serves DIR with `python3 -m http.server` on 127.0.0.1 (a free
port picked by the server itself) for the time of the run and plays
DIR/manifest.mpd (DASH, dashdemux2) or, when DIR has none, DIR/master.m3u8
(HLS, hlsdemux2) from it. With --throttle SCHEDULE it serves DIR through
throttled_http.py instead, whose bandwidth follows SCHEDULE (T:BPS,...), and
dashdemux2 picks each representation from its own measured download rate
(natural ABR; no connection-bitrate).

Switching: dashdemux2 (and hlsdemux2, the same adaptive demuxer base) picks
the representation from its `connection-bitrate` property when one is set (instead of the measured download rate), at every
fragment. --start-bps sets it before the first fragment, and each
--switch FRAME:BPS sets it again when FRAME frames have come out of gearnn;
the new representation starts at the next fragment dashdemux2 downloads
(after the ones it has already buffered, a few seconds here). BPS may be
given as rN: just enough for the Nth representation by bandwidth (r0 the
lowest), read from the MPD or the HLS master playlist.

--target-miou M (with --serve) is the analytics-aware ABR hint: gearnn
names the cheapest representation played so far whose level's expected mIoU
(recorded in the bundle) reaches M, and the player caps the demuxer's
max-bitrate at that representation. The stream is played twice on the same
bandwidth schedule, without the cap and with it, and the summary gives the
bytes downloaded and the mean expected mIoU per frame of both.

--early-exit turns on gearnn's early exits (a bundle made by gearnn exits):
the summary then gives the share of frames that left at each exit and the
mean compute per frame, as a fraction of the whole network's.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_frames import drain, error_text  # noqa: E402

SEG_META = "GearnnSegmentationMeta"
ADAPTIVE_DEMUXERS = ("dashdemux2", "hlsdemux2")


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
    exit: str = ""                 # early exit taken ("network": none; "" with exits off)
    compute_fraction: float = 1.0
    expected_miou: float = -1.0    # of the level in use, where the bundle records it


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


def representations(url):
    """[(bandwidth, width, height)] of the MPD's or master playlist's video representations, lowest first."""
    with urllib.request.urlopen(url, timeout=10) as f:
        text = f.read()
    if text.lstrip().startswith(b"#EXTM3U"):
        found = []
        for line in re.findall(rb"#EXT-X-STREAM-INF:(.*)", text):
            bandwidth = re.search(rb"(?:^|,)BANDWIDTH=(\d+)", line)  # not AVERAGE-BANDWIDTH
            size = re.search(rb"(?:^|,)RESOLUTION=(\d+)x(\d+)", line)
            if bandwidth:
                found.append((int(bandwidth[1]), int(size[1]) if size else 0, int(size[2]) if size else 0))
    else:
        found = [(int(r.get("bandwidth")), int(r.get("width", 0)), int(r.get("height", 0)))
                 for r in ET.fromstring(text).iter() if r.tag.endswith("Representation") and r.get("bandwidth")]
    return sorted(found)


def selecting_bitrate(bandwidth):
    """A connection-bitrate that selects a representation of `bandwidth`: the adaptive
    demuxers take the best representation whose bandwidth fits a forced
    connection-bitrate (as it is; a measured rate counts x bandwidth-target-ratio,
    0.8, and is then clamped to max-bitrate). A quarter above it, for a margin."""
    return int(bandwidth / 0.8) + 1000


def representation_bitrates(url):
    """connection-bitrate values that select each representation (lowest bandwidth first)."""
    return [selecting_bitrate(b) for b, _, _ in representations(url)]


def manifest_name(directory):
    """manifest.mpd (DASH) when `directory` has one, else master.m3u8 (HLS)."""
    return "manifest.mpd" if os.path.exists(os.path.join(directory, "manifest.mpd")) else "master.m3u8"


def resolve_bps(spec, url):
    spec = str(spec)
    if spec.startswith("r"):
        rates = representation_bitrates(url)
        return rates[min(int(spec[1:]), len(rates) - 1)]
    return int(spec)


def build_description(url, bundle, overlay=None, masks=None, sync=False, threads=0, overlay_size="480x360",
                      early_exit=False, target_miou=0, exit_scale=1.0):
    ow, oh = overlay_size.split("x")
    d = (f'urisourcebin uri="{url}" ! parsebin ! h264parse ! gearnnquality ! avdec_h264 ! '
         f'gearnn name=nn bundle="{bundle}" threads={threads} early-exit={str(early_exit).lower()} '
         f'exit-threshold-scale={exit_scale!r} target-miou={target_miou} ! tee name=t '
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
         log=print, timeout_s=300, early_exit=False, target_miou=0, exit_scale=1.0):
    """Plays `url`; returns a summary dict (frames, switches, per-level time, fps, records)."""
    Gst.init(None)
    start_bps = resolve_bps(start_bps, url) if start_bps else 0
    switches = [(frame, resolve_bps(bps, url)) for frame, bps in switches]
    if masks:
        os.makedirs(masks, exist_ok=True)
    pipeline = Gst.parse_launch(build_description(url, bundle, overlay, masks, sync, threads,
                                                  early_exit=early_exit, target_miou=target_miou,
                                                  exit_scale=exit_scale))
    ladder = {}  # frame size -> the lowest bandwidth of that size
    for b, w, h in (representations(url) if target_miou else []):
        ladder.setdefault((w, h), b)
    hints = []
    demuxers = []
    pending = sorted(switches)
    # The demuxers clamp their measured rate to max-bitrate, but take a forced
    # connection-bitrate as it is: a forced rate is clamped to the hint's cap here.
    forced = {"bps": start_bps, "cap": 0}

    def force(bps):
        forced["bps"] = bps
        effective = min(bps, forced["cap"]) if forced["cap"] and bps else bps
        for demux in demuxers:
            demux.set_property("connection-bitrate", int(effective))
        return effective

    def on_element(_bin, _sub, element):
        factory = element.get_factory()
        if factory and factory.get_name() in ADAPTIVE_DEMUXERS:
            demuxers.append(element)
            # Keep little buffered, so that a new connection-bitrate takes effect soon.
            element.set_property("max-buffering-time", Gst.SECOND)
            element.set_property("high-watermark-time", Gst.SECOND)
            if start_bps:
                element.set_property("connection-bitrate", int(start_bps))
            log(f"{factory.get_name()}: connection-bitrate={start_bps or 'measured'}")

    pipeline.connect("deep-element-added", on_element)
    records = []
    stats = pipeline.get_by_name("stats")
    bus = pipeline.get_bus()
    switch_messages = []
    t0 = time.monotonic()
    if pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
        msg = bus.pop_filtered(Gst.MessageType.ERROR)
        raise RuntimeError(error_text(msg) if msg else "the pipeline does not start")
    last_size = None
    error = None
    eos_seen = False
    try:
        while True:
            sample = stats.emit("try-pull-sample", 100 * Gst.MSECOND)
            for msg in drain(bus):
                if msg.type == Gst.MessageType.ERROR:
                    error = error_text(msg)
                elif msg.type == Gst.MessageType.EOS:
                    eos_seen = True
                elif msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "gearnn-level-switch":
                    s = msg.get_structure()
                    switch_messages.append({"from": s.get_value("from"), "to": s.get_value("to"),
                                            "measured": s.get_value("measured"), "pts": s.get_value("pts")})
                    log(f"  adaptor {s.get_value('from') or '(start)'} -> {s.get_value('to')}  "
                        f"(measured {s.get_value('measured')}, pts {s.get_value('pts') / 1e9:.2f} s)")
                elif msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "gearnn-abr-hint":
                    s = msg.get_structure()
                    size = (s.get_value("width"), s.get_value("height"))
                    # max-bitrate clamps the rate after bandwidth-target-ratio; a forced
                    # connection-bitrate is compared as given: the bandwidth itself caps both.
                    cap = ladder[size] if s.get_value("meets-target") and size in ladder else 0
                    for demux in demuxers:
                        demux.set_property("max-bitrate", cap)
                    forced["cap"] = cap
                    if forced["bps"]:
                        force(forced["bps"])
                    hints.append({"size": f"{size[0]}x{size[1]}", "level": s.get_value("level"),
                                  "expected_miou": s.get_value("expected-miou"), "max_bitrate": cap})
                    log(f"  ABR hint {size[0]}x{size[1]} ({s.get_value('level')}, expected mIoU "
                        f"{s.get_value('expected-miou'):.2f}"
                        + (f"): max-bitrate -> {cap}" if cap else ", misses the target): no cap"))
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
                inference_ms=(s.get_value("inference-ns") / 1e6) if s else 0.0, mask_ok=mask_ok,
                exit=(s.get_value("exit") if s.has_field("exit") else "network")
                if s and s.has_field("compute-fraction") else "",
                compute_fraction=s.get_value("compute-fraction") if s and s.has_field("compute-fraction") else 1.0,
                expected_miou=s.get_value("expected-miou") if s and s.has_field("expected-miou") else -1.0))
            while pending and len(records) >= pending[0][0]:
                frame, bps = pending.pop(0)
                effective = force(bps)
                log(f"frame {len(records)}: connection-bitrate -> {effective}"
                    + (f" (asked {bps}, capped by the ABR hint)" if effective != bps else ""))
        wall = time.monotonic() - t0
        if not error and not eos_seen:
            # Let the file and mask branches finish (the pipeline posts EOS once every sink has it).
            msg = bus.timed_pop_filtered(60 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
            if msg and msg.type == Gst.MessageType.ERROR:
                error = error_text(msg)
    finally:
        pipeline.set_state(Gst.State.NULL)
    if error:
        raise RuntimeError(error)
    summary = summarize(records, switch_messages, wall)
    summary["abr_hints"] = hints
    return summary


def summarize(records, switch_messages, wall_s):
    per_level = OrderedDict()
    durations = [b.pts - a.pts for a, b in zip(records, records[1:]) if b.pts > a.pts]
    frame_ns = sorted(durations)[len(durations) // 2] if durations else 0
    for r in records:
        per_level[r.level] = per_level.get(r.level, 0) + frame_ns
    reps = OrderedDict()
    for r in records:
        reps.setdefault(f"{r.width}x{r.height}", Counter())[r.level] += 1
    inferred = [r for r in records if not r.reused and r.exit]
    expected = [r.expected_miou for r in records if r.expected_miou >= 0]
    return {
        "mean_expected_miou": sum(expected) / len(expected) if expected else None,
        "frames_per_exit": dict(Counter(r.exit for r in inferred)),
        "mean_compute_fraction": sum(r.compute_fraction for r in inferred) / len(inferred) if inferred else None,
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
    if summary.get("frames_per_exit"):
        n = sum(summary["frames_per_exit"].values())
        print("early exits: " + ", ".join(f"{k} {100 * v / n:.0f}%" for k, v in summary["frames_per_exit"].items())
              + f" of inferred frames; mean compute {summary['mean_compute_fraction']:.3f} of the network's",
              file=out)
    print("levels chosen per representation:", file=out)
    for rep, levels in summary["levels_per_representation"].items():
        print(f"  {rep:>9}: " + ", ".join(f"{k} x{v}" for k, v in levels.items()), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--serve", metavar="DIR",
                     help="serve DIR on 127.0.0.1 and play DIR/manifest.mpd, else DIR/master.m3u8")
    src.add_argument("--url", help="an MPD or HLS master playlist URL")
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
    ap.add_argument("--early-exit", action="store_true", help="let confident frames leave at the bundle's exits")
    ap.add_argument("--exit-threshold-scale", type=float, default=1.0,
                    help="with --early-exit: the exits' thresholds times this (below 1: more frames leave)")
    ap.add_argument("--target-miou", type=float, default=0,
                    help="with --throttle: cap the bitrate at gearnn's ABR hint for this mIoU; plays with and without")
    args = ap.parse_args()
    switches = []
    for s in args.switch:
        frame, bps = s.split(":")
        switches.append((int(frame), bps))
    if args.throttle and (not args.serve or switches or args.start_bps != "0"):
        ap.error("--throttle needs --serve and excludes --switch and --start-bps (dashdemux2 measures the rate)")
    if args.early_exit:
        Gst.init(None)
        element = Gst.ElementFactory.make("gearnn", None)
        if element is None:
            ap.error("the gearnn element is not available (is GST_PLUGIN_PATH set?)")
        spec = element.find_property("exit-threshold-scale")
        if not spec.minimum <= args.exit_threshold_scale <= spec.maximum:
            ap.error(f"--exit-threshold-scale must be from {spec.minimum:g} to {spec.maximum:g} (gearnn's range)")
    if args.target_miou and not args.throttle:
        ap.error("--target-miou needs --serve and --throttle (the bytes served are counted there)")
    try:
        if args.target_miou:
            print("== without the ABR hint")
            plain = play_served(args, switches)
            print_summary(plain)
            print(f"== with the ABR hint for expected mIoU >= {args.target_miou}")
            summary = play_served(args, switches, args.target_miou)
            summary["without_hint"] = {k: plain[k] for k in ("bytes_served", "mean_expected_miou", "frames",
                                                              "levels_per_representation")}
        elif args.serve:
            summary = play_served(args, switches)
        else:
            summary = play(args.url, args.bundle, switches, args.start_bps, args.overlay, args.masks, args.sync,
                           args.threads, early_exit=args.early_exit, exit_scale=args.exit_threshold_scale)
    except RuntimeError as e:
        print(f"dash_play: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    if args.target_miou:
        without = summary["without_hint"]
        saved = 1 - summary["bytes_served"] / max(1, without["bytes_served"])
        print(f"ABR hint: {summary['bytes_served'] / 1e6:.2f} MB downloaded against {without['bytes_served'] / 1e6:.2f} "
              f"MB without it ({100 * saved:.0f}% saved); mean expected mIoU per frame "
              f"{_miou_text(summary['mean_expected_miou'])} against {_miou_text(without['mean_expected_miou'])}")
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


def _miou_text(value):
    return f"{value:.2f}" if value is not None else "- (the bundle records no expected accuracy)"


def play_served(args, switches, target_miou=0):
    """Serves args.serve (throttled with args.throttle) for one play; the summary gets the bytes served."""
    server_type = HttpServer
    if args.throttle:
        from throttled_http import ThrottledServer
        server_type = lambda d: ThrottledServer(d, args.throttle)  # noqa: E731
    with server_type(args.serve) as server:
        url = f"http://127.0.0.1:{server.port}/{manifest_name(args.serve)}"
        print(f"serving {args.serve} at http://127.0.0.1:{server.port}/"
              + (f", bandwidth schedule {args.throttle} (bit/s)" if args.throttle else ""))
        summary = play(url, args.bundle, switches, args.start_bps, args.overlay, args.masks, args.sync,
                       args.threads, early_exit=args.early_exit, target_miou=target_miou,
                       exit_scale=args.exit_threshold_scale)
        served = 0
        for line in getattr(server, "log", []):
            path = line.split(" ", 2)[-1].lstrip("/")
            if os.path.isfile(os.path.join(args.serve, path)):
                served += os.path.getsize(os.path.join(args.serve, path))
            if (".m4s" in line and "init" not in line) or line.endswith(".ts"):
                print(f"  served {line}")
    summary["bytes_served"] = served if args.throttle else None
    return summary


if __name__ == "__main__":
    sys.exit(main())
