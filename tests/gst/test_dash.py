#!/usr/bin/python3
"""DASH end to end on loopback: a two-representation ladder made by ffmpeg
(240x180 at CRF 38, 480x360 at CRF 22), served by python3 -m http.server on
127.0.0.1, played through urisourcebin ! parsebin ! h264parse !
gearnnquality ! avdec_h264 ! gearnn, with dashdemux2's connection-bitrate
raised after 10 frames. Asserts that both representations were played, that
each frame's adaptor is the level of its representation (resolution from the
caps, QP from the bitstream), and that every frame has a mask; with early
exits on at a tiny threshold scale, that every frame leaves at the first exit
and the summary counts it, with its share of the compute. Then the
same ladder through throttled_http.py, whose bandwidth rises from 150 kbit/s
to 5 Mbit/s after 1 s, played in real time with no connection-bitrate:
dashdemux2 switches up on its own measured rate, and the adaptor follows.
With target-miou set and expected accuracies in the bundle, the ABR hint
caps the demuxer at the cheap representation that meets the target, so the
raised connection-bitrate no longer moves it up. Last, an HLS ladder defined by bitrate (MPEG-TS segments, master.m3u8) through
the same throttled server and hlsdemux2, switching up on its own as well.
"""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("GEARNN_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "pipelines"))
import dash_play  # noqa: E402
from throttled_http import ThrottledServer  # noqa: E402

VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def make_ladder(out):
    source = ["-i", VTEST] if os.path.exists(VTEST) else ["-f", "lavfi", "-i", "testsrc2=size=768x576:rate=10"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *source, "-t", "6", "-r", "10",
                    "-map", "0:v", "-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-filter:v:0", "scale=240:180", "-crf:v:0", "38",
                    "-filter:v:1", "scale=480:360", "-crf:v:1", "22",
                    "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",
                    "-f", "dash", "-seg_duration", "1", "-use_template", "1", "-use_timeline", "0",
                    "-adaptation_sets", "id=0,streams=v", os.path.join(out, "manifest.mpd")], check=True)


def make_hls_ladder(out):
    source = ["-i", VTEST] if os.path.exists(VTEST) else ["-f", "lavfi", "-i", "testsrc2=size=768x576:rate=10"]
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *source, "-t", "6", "-r", "10",
                    "-map", "0:v", "-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                    "-filter:v:0", "scale=240:180", "-b:v:0", "80k", "-maxrate:v:0", "80k", "-bufsize:v:0", "160k",
                    "-filter:v:1", "scale=480:360", "-b:v:1", "1200k", "-maxrate:v:1", "1200k",
                    "-bufsize:v:1", "2400k", "-g", "10", "-keyint_min", "10", "-sc_threshold", "0",
                    "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod",
                    "-hls_segment_filename", os.path.join(out, "rep%v_%03d.ts"), "-master_pl_name", "master.m3u8",
                    "-var_stream_map", "v:0 v:1", os.path.join(out, "rep%v.m3u8")], check=True)


def main():
    cli = os.environ["GEARNN_CLI"]
    with tempfile.TemporaryDirectory() as tmp:
        ladder = os.path.join(tmp, "ladder")
        os.makedirs(ladder)
        make_ladder(ladder)
        bundle = os.path.join(tmp, "bundle")
        subprocess.run([cli, "bundle", "random", "--arch", "drn_d_22", "--width", "0.125", "--classes", "5",
                        "--kind", "abr", "-o", bundle], check=True, stdout=subprocess.DEVNULL)
        masks = os.path.join(tmp, "masks")
        with dash_play.HttpServer(ladder) as server:
            url = f"http://127.0.0.1:{server.port}/manifest.mpd"
            summary = dash_play.play(url, bundle, switches=[(10, "r1")], start_bps="r0", masks=masks,
                                     threads=1, timeout_s=120)
        assert server.proc.poll() is not None, "the HTTP server is still running"
        dash_play.print_summary(summary)

        records = summary["records"]
        assert summary["frames"] == 60, summary["frames"]
        sizes = [(r["width"], r["height"]) for r in records]
        assert sizes[0] == (240, 180), sizes[0]
        assert (480, 360) in sizes, "dashdemux2 never switched to the 480x360 representation"
        switch_at = sizes.index((480, 360))
        assert all(s == (240, 180) for s in sizes[:switch_at]) and all(s == (480, 360) for s in sizes[switch_at:])

        # The adaptor follows the representation: its resolution always, its QP once the window is full.
        for r in records:
            assert r["level"].startswith(f"{r['width']}x{r['height']}-"), r
            assert r["qp"] > 0, r
        low = [r["level"] for r in records[:switch_at]]
        high = [r["level"] for r in records[switch_at:]]
        assert low.count("240x180-qp38") >= len(low) - 2, low
        assert high.count("480x360-qp22") >= len(high) - 2, high
        used = {r["level"] for r in records}
        assert len(used) >= 2, used
        assert summary["switches"] >= 1

        # A mask for every frame: in the meta at the appsink, and as a PNG file.
        assert summary["masks"] == 60
        pngs = sorted(os.listdir(masks))
        assert len(pngs) == 60, len(pngs)

        # Early exits: with the thresholds scaled down to a hundredth every frame
        # leaves at the first exit, and the summary counts it and its compute.
        with_exits = os.path.join(tmp, "bundle-exits")
        subprocess.run([cli, "bundle", "random", "--arch", "drn_d_22", "--width", "0.125", "--classes", "5",
                        "--kind", "abr", "--exits", "base.4,base.6", "-o", with_exits], check=True,
                       stdout=subprocess.DEVNULL)
        with dash_play.HttpServer(ladder) as server:
            url = f"http://127.0.0.1:{server.port}/manifest.mpd"
            exited = dash_play.play(url, with_exits, switches=[(10, "r1")], start_bps="r0", threads=1,
                                    timeout_s=120, early_exit=True, exit_scale=0.01)
        dash_play.print_summary(exited)
        assert exited["frames"] == 60, exited["frames"]
        assert exited["frames_per_exit"] == {"base.4": 60}, exited["frames_per_exit"]
        assert 0 < exited["mean_compute_fraction"] < 0.5, exited["mean_compute_fraction"]

        # The ABR hint: 240x180 levels expect 50, 480x360 levels 60; a target of 45
        # is met by 240x180, so the player caps max-bitrate there as soon as it
        # has played it, and the switch to r1 at frame 10 does not happen.
        hinted = os.path.join(tmp, "bundle-expected")
        subprocess.run(["cp", "-r", bundle, hinted], check=True)
        with open(os.path.join(hinted, "manifest.json")) as f:
            manifest = json.load(f)
        for level in manifest["levels"]:
            level["expected"] = {"miou": 50.0 if level["name"].startswith("240x180") else 60.0, "split": "test"}
        with open(os.path.join(hinted, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        with dash_play.HttpServer(ladder) as server:
            url = f"http://127.0.0.1:{server.port}/manifest.mpd"
            capped = dash_play.play(url, hinted, switches=[(10, "r1")], start_bps="r0", threads=1, timeout_s=120,
                                    target_miou=45)
        dash_play.print_summary(capped)
        assert capped["abr_hints"] and capped["abr_hints"][0]["size"] == "240x180", capped["abr_hints"]
        assert capped["abr_hints"][0]["max_bitrate"] > 0, capped["abr_hints"]
        assert {(r["width"], r["height"]) for r in capped["records"]} == {(240, 180)}, \
            "the demuxer went past the hinted representation"
        assert capped["mean_expected_miou"] == 50.0, capped["mean_expected_miou"]
        # The same on the measured rate (max-bitrate): 5 Mbit/s after 1 s would move it up.
        with ThrottledServer(ladder, "0:150000,1:5000000") as server:
            url = f"http://127.0.0.1:{server.port}/manifest.mpd"
            capped = dash_play.play(url, hinted, sync=True, threads=1, timeout_s=120, target_miou=45)
        dash_play.print_summary(capped)
        assert capped["abr_hints"] and capped["abr_hints"][0]["max_bitrate"] > 0, capped["abr_hints"]
        assert {(r["width"], r["height"]) for r in capped["records"]} == {(240, 180)}, \
            "the measured rate took the demuxer past the hinted representation"

        # Natural ABR: no connection-bitrate, the server's bandwidth changes.
        with ThrottledServer(ladder, "0:150000,1:5000000") as server:
            url = f"http://127.0.0.1:{server.port}/manifest.mpd"
            summary = dash_play.play(url, bundle, sync=True, threads=1, timeout_s=120)
        print("\n".join(server.log))
        dash_play.print_summary(summary)
        records = summary["records"]
        assert summary["frames"] == 60, summary["frames"]
        sizes = [(r["width"], r["height"]) for r in records]
        assert sizes[0] == (240, 180), f"started on {sizes[0]} at 150 kbit/s"
        assert (480, 360) in sizes, "dashdemux2 did not switch up when the bandwidth rose"
        for r in records:
            assert r["level"].startswith(f"{r['width']}x{r['height']}-"), r
        assert summary["masks"] == 60

        # HLS: the same natural ABR through hlsdemux2.
        hls = os.path.join(tmp, "hls")
        os.makedirs(hls)
        make_hls_ladder(hls)
        with ThrottledServer(hls, "0:150000,1:5000000") as server:
            url = f"http://127.0.0.1:{server.port}/master.m3u8"
            summary = dash_play.play(url, bundle, sync=True, threads=1, timeout_s=120)
        print("\n".join(server.log))
        dash_play.print_summary(summary)
        records = summary["records"]
        assert summary["frames"] == 60, summary["frames"]
        sizes = [(r["width"], r["height"]) for r in records]
        assert sizes[0] == (240, 180), f"HLS started on {sizes[0]} at 150 kbit/s"
        assert (480, 360) in sizes, "hlsdemux2 did not switch up when the bandwidth rose"
        assert any(".ts" in line for line in server.log), "no MPEG-TS segment was served"
        for r in records:
            assert r["level"].startswith(f"{r['width']}x{r['height']}-"), r
            assert r["qp"] > 0, r
        assert summary["masks"] == 60
    print("dash and hls end to end: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
