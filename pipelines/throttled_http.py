#!/usr/bin/python3
"""A loopback HTTP server whose bandwidth follows a schedule, for ABR players
that pick their representation from the measured download rate.

    pipelines/throttled_http.py DIR --schedule 0:3000000,8:250000,16:900000

serves DIR on 127.0.0.1 (a free port, printed) and sends every response
through one shared link: from T seconds after the first request on, at BPS
bits per second, until the next entry. Each request is logged with the rate
it was sent at. Used by dash_play.py --throttle.
"""
import argparse
import functools
import http.server
import os
import sys
import threading
import time

CHUNK = 4096


def parse_schedule(text):
    """'0:3000000,8:250000' -> [(0.0, 3000000), (8.0, 250000)], sorted by time."""
    entries = []
    for item in text.split(","):
        t, _, bps = item.partition(":")
        try:
            entries.append((float(t), int(bps)))
        except ValueError:
            raise ValueError(f"schedule entry {item!r} is not SECONDS:BITS_PER_SECOND") from None
        if entries[-1][0] < 0 or entries[-1][1] <= 0:
            raise ValueError(f"schedule entry {item!r}: time must be >= 0 and the rate > 0")
    entries.sort()
    if not entries or entries[0][0] != 0:
        raise ValueError("the schedule must start at time 0")
    return entries


class Link:
    """One bottleneck shared by every connection: bytes leave at the scheduled rate."""

    def __init__(self, schedule):
        self.schedule = schedule
        self.lock = threading.Lock()
        self.start = None
        self.next_free = 0.0

    def rate(self, now=None):
        now = time.monotonic() if now is None else now
        if self.start is None:
            return self.schedule[0][1]
        elapsed = now - self.start
        bps = self.schedule[0][1]
        for t, b in self.schedule:
            if elapsed >= t:
                bps = b
        return bps

    def send(self, wfile, data):
        for off in range(0, len(data), CHUNK):
            chunk = data[off:off + CHUNK]
            with self.lock:
                now = time.monotonic()
                if self.start is None:
                    self.start = now
                self.next_free = max(self.next_free, now) + len(chunk) * 8 / self.rate(now)
                wait = self.next_free - now
            if wait > 0:
                time.sleep(wait)
            wfile.write(chunk)


class Handler(http.server.SimpleHTTPRequestHandler):
    link = None
    log_lines = None

    def copyfile(self, source, outputfile):
        self.link.send(outputfile, source.read())

    def log_message(self, fmt, *args):
        if self.log_lines is not None:
            self.log_lines.append(f"{self.link.rate() / 1000:.0f} kbit/s {self.path}")


class ThrottledServer:
    """Serves `directory` on 127.0.0.1 through a Link; a context manager."""

    def __init__(self, directory, schedule):
        self.log = []
        self.link = Link(parse_schedule(schedule) if isinstance(schedule, str) else schedule)
        handler = type("ThrottledHandler", (Handler,), {"link": self.link, "log_lines": self.log})
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(handler, directory=directory))
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("directory")
    ap.add_argument("--schedule", required=True, help="T:BPS,T:BPS,... (seconds after the first request)")
    args = ap.parse_args()
    if not os.path.isdir(args.directory):
        sys.exit(f"throttled_http.py: {args.directory} is not a folder")
    with ThrottledServer(args.directory, args.schedule) as server:
        print(f"serving {args.directory} on http://127.0.0.1:{server.port}/", flush=True)
        try:
            while True:
                time.sleep(1)
                while server.log:
                    print(server.log.pop(0), flush=True)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
