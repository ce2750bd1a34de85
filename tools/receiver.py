#!/usr/bin/env python3
"""Test receiver for probed's notifications (webhook or PagerDuty Events API v2).

Python standard library only.  Every POST is appended as one JSON line to
--out (flushed and fsync'ed before the answer goes out):

    {"path": ..., "headers": {"Content-Type": ..., "User-Agent": ...},
     "body": <parsed JSON or raw string>, "ts": <epoch float>, "status": <code>}

Only Content-Type and User-Agent are recorded: never an authorization header.

--kind pagerduty validates the Events API v2 shape the way PagerDuty does and
answers 400 {"status":"invalid event", ...} when it is wrong, else 202
{"status":"success","message":"Event processed","dedup_key":...}.
--kind webhook answers 200 {"ok":true}.  --status overrides the code of
accepted requests (e.g. 500 or 429 to simulate a failing pager); POST
/_status?code=N changes it at run time.  GET /_received returns everything
recorded so far as a JSON array.
"""

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_BODY = 1024 * 1024


def pagerduty_errors(body):
    """Return the list of problems PagerDuty would report for this event."""
    if not isinstance(body, dict):
        return ["Event object is invalid"]
    errors = []
    rk = body.get("routing_key")
    if not isinstance(rk, str) or not rk:
        errors.append("'routing_key' is missing or blank")
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or invalid")
    dk = body.get("dedup_key")
    if not isinstance(dk, str) or not dk:
        errors.append("'dedup_key' is missing or blank")
    elif len(dk) > 255:
        errors.append("'dedup_key' is too long (max 255 characters)")
    if action == "trigger":
        payload = body.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            summary = payload.get("summary")
            if not isinstance(summary, str) or not summary:
                errors.append("'payload.summary' is missing or blank")
            elif len(summary) > 1024:
                errors.append("'payload.summary' is too long "
                              "(max 1024 characters)")
            source = payload.get("source")
            if not isinstance(source, str) or not source:
                errors.append("'payload.source' is missing or blank")
            if payload.get("severity") not in SEVERITIES:
                errors.append("'payload.severity' is invalid (expected one "
                              "of critical, error, warning, info)")
    return errors


class Recorder:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def append(self, record):
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self.lock:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())

    def read_all(self):
        with self.lock:
            try:
                with open(self.path, encoding="utf-8") as f:
                    return [json.loads(l) for l in f if l.strip()]
            except FileNotFoundError:
                return []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "probed-test-receiver"
    sys_version = ""

    def log_message(self, fmt, *args):  # no request log unless --verbose
        if self.server.verbose:
            sys.stderr.write("receiver: " + (fmt % args) + "\n")

    def reply(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            parts, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/_received":
            self.reply(200, self.server.recorder.read_all())
        elif url.path == "/_health":
            self.reply(200, {"ok": True})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self):
        url = urlsplit(self.path)
        try:
            raw = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            self.reply(400, {"status": "invalid request",
                             "message": "unreadable body"})
            return
        if url.path == "/_status":
            try:
                code = int(parse_qs(url.query)["code"][0])
                if not 100 <= code <= 599:
                    raise ValueError
            except (KeyError, ValueError):
                self.reply(400, {"ok": False, "error": "need code=NNN"})
                return
            self.server.status = code
            self.reply(200, {"ok": True, "status": code})
            return

        text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text)
            parsed = True
        except ValueError:
            body = text
            parsed = False

        kind = self.server.kind
        errors = []
        if kind == "pagerduty":
            errors = pagerduty_errors(body) if parsed else [
                "Event object is invalid (body is not JSON)"]
        code = 400 if errors else self.server.status

        headers = {}
        for name in ("Content-Type", "User-Agent"):
            if self.headers.get(name) is not None:
                headers[name] = self.headers.get(name)
        self.server.recorder.append({"path": self.path, "headers": headers,
                                     "body": body, "ts": time.time(),
                                     "status": code})

        extra = {"Retry-After": "1"} if code == 429 else None
        if errors:
            self.reply(400, {"status": "invalid event",
                             "message": "Event object is invalid",
                             "errors": errors})
        elif kind == "pagerduty":
            if 200 <= code < 300:
                self.reply(code, {"status": "success",
                                  "message": "Event processed",
                                  "dedup_key": body.get("dedup_key")})
            else:
                self.reply(code, {"status": "error",
                                  "message": "simulated failure"}, extra)
        elif 200 <= code < 300:
            self.reply(code, {"ok": True})
        else:
            self.reply(code, {"ok": False, "error": "simulated failure"},
                       extra)

    do_PUT = do_POST


def parse_listen(spec):
    if spec.startswith("["):
        host, _, port = spec[1:].partition("]:")
    else:
        host, _, port = spec.rpartition(":")
    if not port.isdigit():
        raise argparse.ArgumentTypeError("want HOST:PORT, got %r" % spec)
    return host, int(port)


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listen", default="127.0.0.1:0", type=parse_listen,
                    help="HOST:PORT or [V6]:PORT (default 127.0.0.1:0)")
    ap.add_argument("--port-file", required=True,
                    help="bound port is written here once listening")
    ap.add_argument("--out", required=True, help="JSONL file to append to")
    ap.add_argument("--kind", choices=("webhook", "pagerduty"),
                    default="webhook")
    ap.add_argument("--status", type=int, default=None,
                    help="code for accepted requests (default 202 for "
                         "pagerduty, 200 for webhook)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    host, port = args.listen

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = Server((host, port), Handler)
    server.kind = args.kind
    server.status = (args.status if args.status is not None
                     else 202 if args.kind == "pagerduty" else 200)
    server.verbose = args.verbose
    server.recorder = Recorder(args.out)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    write_atomic(args.port_file, "%d\n" % server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
