#!/usr/bin/python3
"""An RTSP camera on loopback, served by gst-rtsp-server and received with
rtspsrc through gearnn.

    pipelines/rtsp_camera.py [--bundle BUNDLE] [--video FILE] [--size WxH]
        [--kbps K] [--frames N] [--protocols udp|tcp] [--threads N]
        [--summary OUT.json]

Server (GstRtspServer on 127.0.0.1, a free port; mount /camera), in a
process of its own like a camera, one session per client, in real time:

    appsrc (the video's frames at WxH, looped) ! x264enc tune=zerolatency
        bitrate=K ! rtph264pay name=pay0

Client:

    rtspsrc location=rtsp://127.0.0.1:PORT/camera ! rtph264depay ! h264parse !
        gearnnquality ! avdec_h264 ! gearnn ! appsink

The camera decodes the video once and sends it in a loop, in real time
(appsrc), so its stream never ends, as a camera's does; the client hangs up
after --frames frames. (A server that ends its stream can deadlock GStreamer
1.22's rtspsrc in its shutdown when the client lags by seconds: its own task
changes rtpbin's state while the application sets the pipeline to NULL.)
The summary gives the frames received (each with its class map), the mean
measured QP and the levels chosen. Needs gir1.2-gst-rtsp-server-1.0.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from live_frames import drain, error_text, frame_of, levels_summary, start, write_summary  # noqa: E402

import gi  # noqa: E402

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_VIDEO = os.path.join(ROOT, "models", "camvid-clip", "0006R0.mp4")


def decode_frames(video, size):
    """Every frame of `video` at `size` as I420 bytes, and the frame rate (numerator, denominator)."""
    w, h = size
    pipeline = Gst.parse_launch(
        f'filesrc location="{video}" ! decodebin ! videoconvert ! videoscale ! '
        f'video/x-raw,format=I420,width={w},height={h},pixel-aspect-ratio=1/1 ! appsink name=out sync=false')
    out, frames, rate = pipeline.get_by_name("out"), [], (10, 1)
    pipeline.set_state(Gst.State.PLAYING)
    try:
        while True:
            sample = out.emit("try-pull-sample", 10 * Gst.SECOND)
            if sample is None:
                break
            ok, n, d = sample.get_caps().get_structure(0).get_fraction("framerate")
            if ok and n > 0:
                rate = (n, d)
            buf = sample.get_buffer()
            frames.append(buf.extract_dup(0, buf.get_size()))
        msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    finally:
        pipeline.set_state(Gst.State.NULL)
    if msg or not frames:
        raise RuntimeError(f"{video}: " + (error_text(msg) if msg else "no frame decoded"))
    return frames, rate


def serve(video, size, kbps):
    """The camera: gst-rtsp-server on 127.0.0.1 (a free port, printed as "port N") serving `video` at
    /camera, in a loop and in real time, until stdin closes. Runs in a process of its own
    (RtspCamera), as a camera would: it never ends its stream."""
    w, h = size
    Gst.init(None)
    try:
        frames, (rate_n, rate_d) = decode_frames(video, size)
    except RuntimeError as e:
        print(f"error: {e}", flush=True)
        return 1
    period = rate_d / rate_n
    loop = GLib.MainLoop.new(None, False)
    server = GstRtspServer.RTSPServer.new()
    server.set_address("127.0.0.1")
    server.set_service("0")
    factory = GstRtspServer.RTSPMediaFactory.new()
    factory.set_launch(
        f'( appsrc name=camera is-live=true do-timestamp=true format=time '
        f'caps="video/x-raw,format=I420,width={w},height={h},framerate={rate_n}/{rate_d},pixel-aspect-ratio=1/1" ! '
        f'x264enc tune=zerolatency speed-preset=veryfast bitrate={kbps} key-int-max=10 ! '
        f'rtph264pay name=pay0 pt=96 config-interval=-1 )')

    def configure(_factory, media):
        sent = {"n": 0, "t0": None}

        def need_data(appsrc, _length):
            # One frame per period of wall time, the clip over and over.
            now = time.monotonic()
            if sent["t0"] is None:
                sent["t0"] = now
            time.sleep(max(0.0, sent["t0"] + sent["n"] * period - now))
            appsrc.emit("push-buffer", Gst.Buffer.new_wrapped(frames[sent["n"] % len(frames)]))
            sent["n"] += 1

        media.get_element().get_by_name("camera").connect("need-data", need_data)

    factory.connect("media-configure", configure)
    server.get_mount_points().add_factory("/camera", factory)
    if server.attach(None) == 0:
        print("error: the RTSP server could not listen on 127.0.0.1", flush=True)
        return 1
    print(f"port {server.get_bound_port()}", flush=True)
    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.PRIORITY_DEFAULT,
                      GLib.IOCondition.IN | GLib.IOCondition.HUP, lambda *_: loop.quit())
    loop.run()
    return 0


class RtspCamera:
    """The camera (serve()) in a child process; stopped on exit."""

    def __init__(self, video, size, kbps):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve-only", "--video", video,
             "--size", f"{size[0]}x{size[1]}", "--kbps", str(kbps)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("port "):
            self.stop()
            raise RuntimeError(f"the RTSP camera did not start: {line or 'no output'}")
        self.port = int(line.split()[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # serve() quits its loop
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def client_description(url, bundle, threads, protocols):
    return (f'rtspsrc location="{url}" latency=200 protocols={protocols} ! rtph264depay ! h264parse ! '
            f'gearnnquality ! avdec_h264 ! gearnn name=nn bundle="{bundle}" threads={threads} ! '
            f'appsink name=out sync=true max-buffers=0')


def play(bundle, video=DEFAULT_VIDEO, size=(480, 360), kbps=400, threads=0, protocols="udp", stop_after=150,
         log=print, idle_s=3.0, timeout_s=600):
    """Serves `video` over RTSP and plays it through gearnn; returns the summary dict."""
    Gst.init(None)
    if not os.path.isfile(video):
        raise RuntimeError(f"{video}: no such video file")
    frames, switches, error, eos = [], [], None, False
    if stop_after < 1:
        raise RuntimeError("the camera never ends its stream: the client needs a positive frame count")
    with RtspCamera(video, size, kbps) as camera:
        url = f"rtsp://127.0.0.1:{camera.port}/camera"
        log(f"serving {os.path.basename(video)} at {url} ({size[0]}x{size[1]}, {kbps} kbit/s)")
        pipeline = Gst.parse_launch(client_description(url, bundle, threads, protocols))
        out = pipeline.get_by_name("out")
        t0 = last = time.monotonic()
        start(pipeline, f"the client of {url}")
        try:
            while True:
                for msg in drain(pipeline.get_bus()):
                    if msg.type == Gst.MessageType.ERROR:
                        error = error_text(msg)
                    elif msg.type == Gst.MessageType.EOS:
                        eos = True
                    elif msg.type == Gst.MessageType.ELEMENT and \
                            msg.get_structure().get_name() == "gearnn-level-switch":
                        s = msg.get_structure()
                        switches.append(s.get_value("to"))
                        log(f"  adaptor {s.get_value('from') or '(start)'} -> {s.get_value('to')} "
                            f"(measured {s.get_value('measured')})")
                if error or eos:
                    break
                sample = out.emit("try-pull-sample", 50 * Gst.MSECOND)
                now = time.monotonic()
                if sample is not None:
                    frames.append(frame_of(sample, len(frames), now - t0))
                    last = now
                    if len(frames) >= stop_after:
                        break  # the client hangs up, as a viewer does
                elif frames and now - last > idle_s:
                    error = f"{url}: no frame for {idle_s} s"
                    break
                elif now - t0 > timeout_s:
                    error = f"{url}: no frames after {timeout_s} s" if not frames else f"timed out after {timeout_s} s"
                    break
        finally:
            pipeline.set_state(Gst.State.NULL)
    if error:
        raise RuntimeError(error)
    levels, qp = levels_summary(frames)
    return {"url": url, "frames": len(frames), "masks": sum(f.mask_ok for f in frames),
            "sizes": sorted({f"{f.width}x{f.height}" for f in frames}), "mean_qp": qp, "levels": levels,
            "switches": max(0, len(switches) - 1), "ended_by": "eos" if eos else "client",
            "records": [f.__dict__ for f in frames]}


def print_summary(summary, out=sys.stdout):
    qp = f"{summary['mean_qp']:.1f}" if summary["mean_qp"] is not None else "-"
    print(f"{summary['url']}: {summary['frames']} frames ({summary['masks']} with a map), sizes "
          f"{', '.join(summary['sizes'])}, mean QP {qp}, ended by {summary['ended_by']}", file=out)
    print("levels: " + ", ".join(f"{k} x{v}" for k, v in summary["levels"].items()), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", default=os.path.join(ROOT, "models", "camvid-abr"),
                    help="default: the shipped models/camvid-abr")
    ap.add_argument("--video", default=DEFAULT_VIDEO, help="default: the shipped CamVid clip")
    ap.add_argument("--size", default="480x360")
    ap.add_argument("--kbps", type=int, default=400, help="the camera's bitrate")
    ap.add_argument("--frames", type=int, default=150, help="the client hangs up after this many frames")
    ap.add_argument("--protocols", choices=["udp", "tcp"], default="udp", help="RTP transport")
    ap.add_argument("--threads", type=int, default=0, help="gearnn threads (0: LibTorch's default)")
    ap.add_argument("--summary", default=os.path.join(ROOT, "demo-output", "rtsp", "summary.json"),
                    help="write the summary (JSON) here (default demo-output/rtsp/summary.json)")
    ap.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)  # the camera's own process
    args = ap.parse_args()
    try:
        size = tuple(int(v) for v in args.size.split("x"))
    except ValueError:
        ap.error("--size takes WxH")
    if args.serve_only:
        return serve(args.video, size, args.kbps)
    try:
        summary = play(args.bundle, args.video, size, args.kbps, args.threads, args.protocols, stop_after=args.frames)
    except RuntimeError as e:
        print(f"rtsp_camera: {e}", file=sys.stderr)
        return 1
    print_summary(summary)
    if args.summary:
        write_summary(summary, args.summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
