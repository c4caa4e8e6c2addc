#!/usr/bin/python3
"""A drone ground-station feed over RTP on loopback: the sender's bitrate
follows a link-quality schedule while playing, packets may be lost, and the
receiver's adaptor follows the stream's QP at one resolution.

    pipelines/rtp_drone.py [--bundle BUNDLE] [--video FILE] [--size WxH]
        [--schedule T:BPS,...] [--loss SHARE] [--seed N] [--frames N]
        [--threads N] [--summary OUT.json]

Sender (in real time, like a camera):

    filesrc ! decodebin ! videoconvert ! videoscale ! video/x-raw,WxH !
        x264enc tune=zerolatency ! rtph264pay ! udpsink host=127.0.0.1

x264enc's `bitrate` is set from the schedule while playing (from T seconds on,
BPS bit/s), as a drone's encoder follows its link. With --loss SHARE a probe
before udpsink drops that share of the RTP packets (seeded), as a lossy radio
link would.

Receiver:

    udpsrc ! rtpjitterbuffer ! rtph264depay ! h264parse ! gearnnquality !
        avdec_h264 ! gearnn ! appsink

The log gives, per schedule stretch (frames by the time they reached udpsrc,
their timestamp, so a receiver slower than real time still counts each frame
in the stretch it was sent in), the bitrate, the mean measured QP and the
levels chosen; then what was lost: packets dropped by the sender's link,
packets the jitter buffer counted lost, frames sent against frames received.
"""
import argparse
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_frames import FrameLimit, drain, error_text, frame_of, levels_summary, start, write_summary  # noqa: E402
from throttled_http import parse_schedule  # noqa: E402

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstPbutils", "1.0")
from gi.repository import Gst  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VIDEO = os.path.join(ROOT, "models", "camvid-clip", "0006R0.mp4")
RTP_CAPS = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96"


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LossyLink:
    """Drops a seeded share of the buffers crossing a pad, and counts them."""

    def __init__(self, share, seed):
        self.share, self.rng = share, random.Random(seed)
        self.sent = self.dropped = 0
        self.lock = threading.Lock()

    def probe(self, _pad, _info):
        with self.lock:
            if self.share > 0 and self.rng.random() < self.share:
                self.dropped += 1
                return Gst.PadProbeReturn.DROP
            self.sent += 1
        return Gst.PadProbeReturn.OK


def sender_description(video, size, port, kbps, fps, gop_s):
    w, h = size
    rate = f" ! videorate ! video/x-raw,framerate={fps}/1" if fps else ""
    key_int = max(1, int(round(gop_s * (fps or video_fps(video)))))
    return (f'filesrc location="{video}" ! decodebin ! videoconvert ! videoscale{rate} ! '
            f'video/x-raw,format=I420,width={w},height={h},pixel-aspect-ratio=1/1 ! '
            f'identity name=frames ! x264enc name=enc tune=zerolatency speed-preset=veryfast bitrate={kbps} '
            f'key-int-max={key_int} ! rtph264pay config-interval=-1 pt=96 mtu=1200 ! '
            f'udpsink name=link host=127.0.0.1 port={port} sync=true')


def receiver_description(bundle, port, threads, latency_ms):
    return (f'udpsrc port={port} address=127.0.0.1 caps="{RTP_CAPS}" buffer-size=4194304 ! '
            f'rtpjitterbuffer name=jitter latency={latency_ms} ! rtph264depay ! h264parse ! gearnnquality ! '
            f'avdec_h264 ! gearnn name=nn bundle="{bundle}" threads={threads} ! '
            f'appsink name=out sync=false max-buffers=0')


def video_fps(video):
    """The frame rate of `video`'s first video stream (10 when it says none)."""
    from gi.repository import GLib, GstPbutils
    try:
        info = GstPbutils.Discoverer.new(10 * Gst.SECOND).discover_uri(Gst.filename_to_uri(video))
    except GLib.Error as e:
        raise RuntimeError(f"{video}: not a video GStreamer can play ({e.message})") from None
    streams = info.get_video_streams()
    if not streams or streams[0].get_framerate_num() <= 0:
        return 10
    return streams[0].get_framerate_num() / max(1, streams[0].get_framerate_denom())


def stretch_of(schedule, t):
    k = 0
    for i, (begin, _) in enumerate(schedule):
        if t >= begin:
            k = i
    return k


def play(video, bundle, size=(480, 360), schedule=((0, 1_500_000),), loss=0.0, seed=1, threads=0, fps=0,
         gop_s=1.0, latency_ms=200, frames=0, log=print, timeout_s=600):
    """Sends `video` over RTP and receives it through gearnn; returns the summary dict."""
    Gst.init(None)
    if not os.path.isfile(video):
        raise RuntimeError(f"{video}: no such video file")
    port = free_udp_port()
    receiver = Gst.parse_launch(receiver_description(bundle, port, threads, latency_ms))
    sender = Gst.parse_launch(sender_description(video, size, port, schedule[0][1] // 1000, fps, gop_s))
    link = LossyLink(loss, seed)
    sender.get_by_name("link").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, link.probe)
    frames_sent = FrameLimit(frames)
    sender.get_by_name("frames").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, frames_sent.probe)
    encoder, out, jitter = sender.get_by_name("enc"), receiver.get_by_name("out"), receiver.get_by_name("jitter")
    received, switches, warnings = [], [], []
    error = None
    start(receiver, "the receiver")
    t0 = time.monotonic()
    try:
        start(sender, "the sender")
    except RuntimeError:
        receiver.set_state(Gst.State.NULL)
        raise
    stretch, sender_done_at, last_frame_at = 0, None, t0
    log(f"sending {video} at {size[0]}x{size[1]} to udp://127.0.0.1:{port}, "
        f"{schedule[0][1] // 1000} kbit/s" + (f", dropping {100 * loss:.1f}% of packets" if loss else ""))
    try:
        while True:
            now = time.monotonic() - t0
            k = stretch_of(schedule, now)
            if k != stretch and sender_done_at is None:
                stretch = k
                encoder.set_property("bitrate", max(1, schedule[k][1] // 1000))
                log(f"{now:5.1f} s: link now {schedule[k][1] // 1000} kbit/s")
            for msg in drain(sender.get_bus()):
                if msg.type == Gst.MessageType.ERROR:
                    error = "sender: " + error_text(msg)
                elif msg.type == Gst.MessageType.EOS and sender_done_at is None:
                    sender_done_at = now
                    log(f"{now:5.1f} s: the sender is done ({frames_sent.count} frames)")
            for msg in drain(receiver.get_bus()):
                if msg.type == Gst.MessageType.ERROR:
                    error = "receiver: " + error_text(msg)
                elif msg.type == Gst.MessageType.WARNING:
                    warnings.append(error_text(msg))
                elif msg.type == Gst.MessageType.ELEMENT and msg.get_structure().get_name() == "gearnn-level-switch":
                    s = msg.get_structure()
                    switches.append({"at_s": now, "from": s.get_value("from"), "to": s.get_value("to"),
                                     "measured": s.get_value("measured")})
                    log(f"{now:5.1f} s:   adaptor {s.get_value('from') or '(start)'} -> {s.get_value('to')} "
                        f"(measured {s.get_value('measured')})")
            if error:
                break
            sample = out.emit("try-pull-sample", 50 * Gst.MSECOND)
            if sample is not None:
                last_frame_at = time.monotonic()
                received.append(frame_of(sample, len(received), last_frame_at - t0))
                continue
            # UDP carries no EOS: once the sender is done and nothing has come for a while, stop.
            if sender_done_at is not None and time.monotonic() - last_frame_at > 1.0 + latency_ms / 1000:
                break
            if now > timeout_s:
                error = f"timed out after {timeout_s} s"
                break
        stats = jitter.get_property("stats")
        jitter_stats = {k: stats.get_value(k) for k in ("num-pushed", "num-lost", "num-late", "num-duplicates")}
    finally:
        sender.set_state(Gst.State.NULL)
        receiver.set_state(Gst.State.NULL)
    if error:
        raise RuntimeError(error)
    return summarize(received, switches, warnings, schedule, link, frames_sent.count, jitter_stats)


def summarize(frames, switches, warnings, schedule, link, frames_sent, jitter_stats):
    stretches = []
    for k, (begin, bps) in enumerate(schedule):
        end = schedule[k + 1][0] if k + 1 < len(schedule) else float("inf")
        inside = [f for f in frames if begin <= f.pts / 1e9 < end]
        levels, qp = levels_summary(inside)
        stretches.append({"from_s": begin, "bps": bps, "frames": len(inside), "mean_qp": qp, "levels": levels})
    return {
        "frames_sent": frames_sent,
        "frames": len(frames),
        "masks": sum(f.mask_ok for f in frames),
        "sizes": sorted({f"{f.width}x{f.height}" for f in frames}),
        "packets_sent": link.sent,
        "packets_dropped": link.dropped,
        "jitterbuffer": jitter_stats,
        "switches": len([s for s in switches if s["from"]]),
        "switch_log": switches,
        "warnings": warnings,
        "stretches": stretches,
        "records": [f.__dict__ for f in frames],
    }


def print_summary(summary, out=sys.stdout):
    print("per link stretch (by the time each frame reached the receiver):", file=out)
    for s in summary["stretches"]:
        qp = f"{s['mean_qp']:.1f}" if s["mean_qp"] is not None else "-"
        levels = ", ".join(f"{k} x{v}" for k, v in s["levels"].items()) or "no frames"
        print(f"  from {s['from_s']:4.1f} s at {s['bps'] // 1000:5d} kbit/s: {s['frames']:3d} frames, "
              f"mean QP {qp}: {levels}", file=out)
    j = summary["jitterbuffer"]
    print(f"frames: {summary['frames_sent']} sent, {summary['frames']} received, {summary['masks']} with a map, "
          f"sizes {', '.join(summary['sizes'])}; adaptor switches: {summary['switches']}", file=out)
    print(f"lost: {summary['packets_dropped']} of {summary['packets_sent'] + summary['packets_dropped']} RTP packets "
          f"dropped by the link; the jitter buffer counted {j['num-lost']} lost, {j['num-late']} late; "
          f"{len(summary['warnings'])} decoder or element warnings", file=out)
    for w in summary["warnings"][:5]:
        print(f"  warning: {w}", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=os.path.join(ROOT, "models", "camvid-abr"),
                    help="default: the shipped models/camvid-abr")
    ap.add_argument("--video", default=DEFAULT_VIDEO, help="default: the shipped CamVid clip")
    ap.add_argument("--size", default="480x360", help="the feed's resolution (fixed)")
    ap.add_argument("--fps", type=int, default=0, help="re-time the video to this rate (0: as it is)")
    ap.add_argument("--schedule", default="0:1500000,6:120000,13:400000",
                    help="link bitrate, T:BPS,... from the sender's start (default: good, a drop, partial recovery)")
    ap.add_argument("--loss", type=float, default=0.0, help="share of RTP packets the link drops (0..1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--latency", type=int, default=200, help="jitter buffer latency, ms")
    ap.add_argument("--frames", type=int, default=0, help="send this many frames (0: the whole video)")
    ap.add_argument("--threads", type=int, default=0, help="gearnn threads (0: LibTorch's default)")
    ap.add_argument("--summary", default=os.path.join(ROOT, "demo-output", "rtp", "summary.json"),
                    help="write the summary (JSON) here (default demo-output/rtp/summary.json)")
    args = ap.parse_args()
    try:
        size = tuple(int(v) for v in args.size.split("x"))
        schedule = parse_schedule(args.schedule)
        if not 0 <= args.loss < 1:
            raise ValueError("--loss must be in [0, 1)")
    except ValueError as e:
        ap.error(str(e))
    try:
        summary = play(args.video, args.bundle, size, schedule, args.loss, args.seed, args.threads, args.fps,
                       latency_ms=args.latency, frames=args.frames)
    except RuntimeError as e:
        print(f"rtp_drone: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    if args.summary:
        write_summary(summary, args.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
