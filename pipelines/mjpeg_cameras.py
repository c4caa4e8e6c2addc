#!/usr/bin/python3
"""A room of IoT cameras over HTTP multipart JPEG (MJPEG), each at its own
JPEG quality, segmented in one process through one resident bundle.

    pipelines/mjpeg_cameras.py [--bundle BUNDLE] [--qualities Q,Q,...]
        [--video FILE] [--size WxH] [--frames N] [--fps F] [--threads N]
        [--summary OUT.json]

A loopback HTTP server (127.0.0.1, a free port) serves camera K at
/camera/K as multipart/x-mixed-replace: N frames of the video encoded by
GStreamer's jpegenc at quality Q_K, at F frames per second in real time,
the way such cameras stream. One pipeline plays every camera:

    souphttpsrc ! multipartdemux ! jpegparse ! gearnnquality ! jpegdec !
        gearnn ! appsink                              (one branch per camera)

Every branch's gearnn names the same bundle, so they share one resident copy
(the log prints `bundle-users`). The summary lists, per camera, the quality
it serves, the quality gearnnquality measured and the levels chosen.
"""
import argparse
import http.server
import os
import sys
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_frames import drain, error_text, frame_of, start, write_summary  # noqa: E402

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VIDEO = os.path.join(ROOT, "models", "camvid-clip", "0006R0.mp4")
BOUNDARY = "gearnnframe"


def encode_jpegs(video, size, quality, frames):
    """The first `frames` frames of `video` at `size`, as JPEG files (bytes) from jpegenc."""
    w, h = size
    pipeline = Gst.parse_launch(
        f'filesrc location="{video}" ! decodebin ! videoconvert ! videoscale ! '
        f'video/x-raw,format=I420,width={w},height={h},pixel-aspect-ratio=1/1 ! jpegenc quality={quality} ! '
        f'appsink name=out sync=false')
    out, jpegs = pipeline.get_by_name("out"), []
    pipeline.set_state(Gst.State.PLAYING)
    try:
        while len(jpegs) < frames:
            sample = out.emit("try-pull-sample", 10 * Gst.SECOND)
            if sample is None:
                break
            buf = sample.get_buffer()
            jpegs.append(buf.extract_dup(0, buf.get_size()))
        msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
        if msg:
            raise RuntimeError(f"{video}: {error_text(msg)}")
    finally:
        pipeline.set_state(Gst.State.NULL)
    if not jpegs:
        raise RuntimeError(f"{video}: no frame decoded")
    return jpegs


class CameraServer:
    """Serves camera K's JPEG frames at /camera/K as multipart/x-mixed-replace, in real time."""

    def __init__(self, cameras, fps):
        cameras_ref, period = cameras, 1.0 / fps

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                parts = self.path.strip("/").split("/")
                if len(parts) != 2 or parts[0] != "camera" or not parts[1].isdigit() or \
                        int(parts[1]) >= len(cameras_ref):
                    self.send_error(404, "no such camera")
                    return
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                start = time.monotonic()
                try:
                    for i, jpeg in enumerate(cameras_ref[int(parts[1])]):
                        time.sleep(max(0.0, start + i * period - time.monotonic()))
                        self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                         f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg + b"\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def client_description(port, count, bundle, threads):
    return " ".join(
        f'souphttpsrc location="http://127.0.0.1:{port}/camera/{k}" is-live=true do-timestamp=true ! '
        f'multipartdemux single-stream=true ! image/jpeg ! jpegparse ! gearnnquality ! jpegdec ! '
        f'gearnn name=nn{k} bundle="{bundle}" threads={threads} ! appsink name=out{k} sync=false max-buffers=0'
        for k in range(count))


def play(bundle, qualities, video=DEFAULT_VIDEO, size=(480, 360), frames=30, fps=5, threads=1, log=print,
         timeout_s=300):
    """Serves one camera per quality and plays them all; returns the summary dict."""
    Gst.init(None)
    if not os.path.isfile(video):
        raise RuntimeError(f"{video}: no such video file")
    cameras = [encode_jpegs(video, size, q, frames) for q in qualities]
    received = [[] for _ in qualities]
    switches = [[] for _ in qualities]
    users = 0
    with CameraServer(cameras, fps) as server:
        log(f"serving {len(qualities)} MJPEG cameras at http://127.0.0.1:{server.port}/camera/0.."
            f"{len(qualities) - 1}: JPEG quality {', '.join(map(str, qualities))}, {frames} frames at {fps} fps")
        pipeline = Gst.parse_launch(client_description(server.port, len(qualities), bundle, threads))
        sinks = [pipeline.get_by_name(f"out{k}") for k in range(len(qualities))]
        elements = {pipeline.get_by_name(f"nn{k}"): k for k in range(len(qualities))}
        t0, error = time.monotonic(), None
        start(pipeline, "the camera pipeline")
        try:
            while not error and not all(s.get_property("eos") for s in sinks):
                for k, sink in enumerate(sinks):
                    sample = sink.emit("try-pull-sample", 20 * Gst.MSECOND)
                    if sample is not None:
                        received[k].append(frame_of(sample, len(received[k]), time.monotonic() - t0))
                        users = max(users, next(iter(elements)).get_property("bundle-users"))
                for msg in drain(pipeline.get_bus()):
                    if msg.type == Gst.MessageType.ERROR:
                        error = error_text(msg)
                    elif msg.type == Gst.MessageType.ELEMENT and \
                            msg.get_structure().get_name() == "gearnn-level-switch" and msg.src in elements:
                        s = msg.get_structure()
                        k = elements[msg.src]
                        switches[k].append(s.get_value("to"))
                        log(f"  camera {k}: adaptor {s.get_value('from') or '(start)'} -> {s.get_value('to')} "
                            f"(measured {s.get_value('measured')})")
                if time.monotonic() - t0 > timeout_s:
                    error = f"timed out after {timeout_s} s"
        finally:
            pipeline.set_state(Gst.State.NULL)
        if error:
            raise RuntimeError(error)
    cams = []
    for k, q in enumerate(qualities):
        measured = [f.jpeg_quality for f in received[k] if f.jpeg_quality >= 0]
        cams.append({"camera": k, "quality": q, "frames_served": len(cameras[k]), "frames": len(received[k]),
                     "masks": sum(f.mask_ok for f in received[k]),
                     "measured_quality": sum(measured) / len(measured) if measured else None,
                     "levels": dict(Counter(f.level for f in received[k])),
                     "switches": max(0, len(switches[k]) - 1)})
    return {"cameras": cams, "bundle_users": users}


def print_summary(summary, out=sys.stdout):
    print(f"one resident bundle: bundle-users = {summary['bundle_users']}", file=out)
    for c in summary["cameras"]:
        m = f"{c['measured_quality']:.1f}" if c["measured_quality"] is not None else "-"
        levels = ", ".join(f"{k} x{v}" for k, v in c["levels"].items()) or "no frames"
        print(f"  camera {c['camera']}: quality {c['quality']:3d} (measured {m}), {c['frames']}/{c['frames_served']} "
              f"frames, {c['masks']} maps: {levels}", file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=os.path.join(ROOT, "models", "camvid-jpeg"),
                    help="default: the shipped models/camvid-jpeg")
    ap.add_argument("--qualities", default="20,40,70,90", help="one camera per JPEG quality (1..100)")
    ap.add_argument("--video", default=DEFAULT_VIDEO, help="default: the shipped CamVid clip")
    ap.add_argument("--size", default="480x360")
    ap.add_argument("--frames", type=int, default=30, help="frames per camera")
    ap.add_argument("--fps", type=float, default=5)
    ap.add_argument("--threads", type=int, default=1, help="gearnn threads per camera")
    ap.add_argument("--summary", default=os.path.join(ROOT, "demo-output", "mjpeg", "summary.json"),
                    help="write the summary (JSON) here (default demo-output/mjpeg/summary.json)")
    args = ap.parse_args()
    try:
        qualities = [int(q) for q in args.qualities.split(",")]
        size = tuple(int(v) for v in args.size.split("x"))
        if any(not 1 <= q <= 100 for q in qualities) or args.frames < 1 or args.fps <= 0:
            raise ValueError
    except ValueError:
        ap.error("--qualities takes qualities 1..100, --size WxH, --frames and --fps positive")
    try:
        summary = play(args.bundle, qualities, args.video, size, args.frames, args.fps, args.threads)
    except RuntimeError as e:
        print(f"mjpeg_cameras: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    if args.summary:
        write_summary(summary, args.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
