#!/usr/bin/env python3
"""Test receiver for probed's notifications (webhook, PagerDuty, Opsgenie, Slack).

Python standard library only.  Every POST is appended as one JSON line to
--out (flushed and fsync'ed before the answer goes out):

    {"path": ..., "headers": {"Content-Type": ..., "User-Agent": ...},
     "body": <parsed JSON or raw string>, "ts": <epoch float>, "status": <code>}

Only Content-Type and User-Agent are recorded: never an authorization header.

--kind pagerduty validates the Events API v2 shape the way PagerDuty does and
answers 400 {"status":"invalid event", ...} when it is wrong, else 202
{"status":"success","message":"Event processed","dedup_key":...}.
--kind opsgenie validates Alert API v2 requests: POST /v2/alerts (create:
message <= 130 chars, alias, description, tags, details, priority P1..P5, ...)
POST /v2/alerts/{alias}/close?identifierType=alias and the updates by alias
PUT /v2/alerts/{alias}/priority|message|description?identifierType=alias (a
body of exactly that one field), each with an "Authorization: GenieKey <key>"
header (--api-key KEY: that key exactly; 401 otherwise); the path is
percent-decoded before it is routed, as proxies and Opsgenie do, so an alias
sent with "%2F" lands on no endpoint (404).  It answers 202 {"result":"Request
will be processed","requestId":ID,...} (--no-request-id: without the id), 422
for a bad payload.  The record gets "method", "request_id" (the id answered),
"auth": "GenieKey" (the scheme, never the key) and "auth_ok".  --kind slack validates an incoming-webhook message (a "text"
fallback, Block Kit "blocks" within Slack's limits) and answers 200 "ok", or
400 "invalid_blocks" / "no_text" as Slack does.
--kind webhook answers 200 {"ok":true}.  --status overrides the code of
accepted requests (e.g. 500 or 429 to simulate a failing pager); POST
/_status?code=N[&retry_after=V] changes it at run time (V: the Retry-After of
a 429, seconds or an HTTP date, empty for none; default 1).  GET /_received returns everything
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
from urllib.parse import parse_qs, unquote, urlsplit

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


OG_CREATE_KEYS = {"message": 130, "alias": 512, "description": 15000,
                  "entity": 512, "source": 100, "user": 100, "note": 25000}
OG_CREATE_OTHER = {"responders", "visibleTo", "actions", "tags", "details",
                   "priority"}
OG_CLOSE_KEYS = {"user": 100, "source": 100, "note": 25000}


def _str_field(body, key, cap, errors, required=False):
    if key not in body:
        if required:
            errors[key] = "%s is required" % key
        return
    v = body[key]
    if not isinstance(v, str) or (required and not v.strip()):
        errors[key] = "%s must be a non-empty string" % key
    elif len(v) > cap:
        errors[key] = "%s can be at most %d characters" % (key, cap)


OG_UPDATES = {"priority": None, "message": 130, "description": 15000}


def opsgenie_errors(path, query, body, method="POST"):
    """(status, errors) the way Opsgenie's Alert API v2 would judge a request."""
    errors = {}
    parts = [p for p in unquote(path).split("/") if p]
    if len(parts) == 4 and parts[:2] == ["v2", "alerts"] and parts[3] in OG_UPDATES:
        field = parts[3]
        if method != "PUT":
            return 405, {"method": "updates are PUT"}
        if parse_qs(query).get("identifierType") != ["alias"]:
            errors["identifierType"] = "probed updates by alias: want identifierType=alias"
        if not isinstance(body, dict):
            return 422, {"body": "must be a JSON object"}
        for k in body:
            if k != field:
                errors[k] = "unknown field"
        if field == "priority":
            if body.get("priority") not in ("P1", "P2", "P3", "P4", "P5"):
                errors["priority"] = "must be one of P1..P5"
        else:
            _str_field(body, field, OG_UPDATES[field], errors, required=True)
        if len(parts[2]) == 0 or len(parts[2]) > 512:
            errors["identifier"] = "bad alias"
        return (422 if errors else 202), errors
    if method != "POST":
        return 405, {"method": "not allowed"}
    if parts == ["v2", "alerts"]:
        if not isinstance(body, dict):
            return 422, {"body": "must be a JSON object"}
        for k in body:
            if k not in OG_CREATE_KEYS and k not in OG_CREATE_OTHER:
                errors[k] = "unknown field"
        _str_field(body, "message", 130, errors, required=True)
        for k, cap in OG_CREATE_KEYS.items():
            if k != "message":
                _str_field(body, k, cap, errors)
        tags = body.get("tags", [])
        if (not isinstance(tags, list) or len(tags) > 20 or
                not all(isinstance(t, str) and 0 < len(t) <= 50 for t in tags)):
            errors["tags"] = "at most 20 tags of at most 50 characters"
        details = body.get("details", {})
        if (not isinstance(details, dict) or
                not all(isinstance(v, str) for v in details.values()) or
                sum(len(k) + len(v) for k, v in details.items()) > 8000):
            errors["details"] = "a map of strings, at most 8000 characters"
        if body.get("priority", "P3") not in ("P1", "P2", "P3", "P4", "P5"):
            errors["priority"] = "must be one of P1..P5"
        return (422 if errors else 202), errors
    if len(parts) == 4 and parts[:2] == ["v2", "alerts"] and parts[3] == "close":
        if parse_qs(query).get("identifierType") != ["alias"]:
            errors["identifierType"] = "probed closes by alias: want identifierType=alias"
        if not isinstance(body, dict):
            return 422, {"body": "must be a JSON object"}
        for k in body:
            if k not in OG_CLOSE_KEYS:
                errors[k] = "unknown field"
        for k, cap in OG_CLOSE_KEYS.items():
            _str_field(body, k, cap, errors)
        if len(parts[2]) == 0 or len(parts[2]) > 512:
            errors["identifier"] = "bad alias"
        return (422 if errors else 202), errors
    return 404, {"path": "no such endpoint"}


SLACK_BLOCKS = {"section", "header", "context", "divider", "actions", "image",
                "rich_text", "input", "file", "video"}


def _slack_text_obj(t, cap, plain_only=False):
    if not isinstance(t, dict):
        return False
    if t.get("type") not in (("plain_text",) if plain_only else
                             ("plain_text", "mrkdwn")):
        return False
    v = t.get("text")
    return isinstance(v, str) and 0 < len(v) <= cap


def slack_errors(body):
    """The error string Slack would answer, or None when the message is valid."""
    if not isinstance(body, dict):
        return "invalid_payload"
    text = body.get("text")
    blocks = body.get("blocks")
    if not (isinstance(text, str) and text.strip()):
        return "no_text"
    if len(text) > 40000:
        return "msg_too_long"
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not 0 < len(blocks) <= 50:
        return "invalid_blocks"
    for b in blocks:
        if not isinstance(b, dict) or b.get("type") not in SLACK_BLOCKS:
            return "invalid_blocks"
        kind = b["type"]
        if kind == "header" and not _slack_text_obj(b.get("text"), 150, True):
            return "invalid_blocks"
        if kind == "section":
            has_text = "text" in b
            fields = b.get("fields")
            if has_text and not _slack_text_obj(b["text"], 3000):
                return "invalid_blocks"
            if fields is not None and (
                    not isinstance(fields, list) or not 0 < len(fields) <= 10 or
                    not all(_slack_text_obj(f, 2000) for f in fields)):
                return "invalid_blocks"
            if not has_text and fields is None:
                return "invalid_blocks"
        if kind == "context":
            els = b.get("elements")
            if (not isinstance(els, list) or not 0 < len(els) <= 10 or
                    not all(_slack_text_obj(e, 3000) for e in els)):
                return "invalid_blocks"
    return None


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

    def reply(self, code, obj, extra=None, ctype="application/json"):
        data = obj.encode() if isinstance(obj, str) else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
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
            # retry_after=VALUE: the Retry-After of a 429 ("" = none); default "1"
            self.server.retry_after = parse_qs(url.query, keep_blank_values=True).get(
                "retry_after", ["1"])[0]
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
        record_extra = {}
        og_status, og_errors, slack_error = 0, {}, None
        if kind == "pagerduty":
            errors = pagerduty_errors(body) if parsed else [
                "Event object is invalid (body is not JSON)"]
        elif kind == "opsgenie":
            auth = self.headers.get("Authorization") or ""
            scheme, _, key = auth.partition(" ")
            auth_ok = scheme == "GenieKey" and bool(key.strip())
            if self.server.api_key is not None:
                auth_ok = auth_ok and key == self.server.api_key
            record_extra = {"auth": scheme if scheme == "GenieKey" else "",
                            "auth_ok": auth_ok}
            if not auth_ok:
                og_status, og_errors = 401, {"auth": "Could not authenticate"}
            else:
                og_status, og_errors = opsgenie_errors(
                    url.path, url.query, body if parsed else None, self.command)
        elif kind == "slack":
            slack_error = slack_errors(body if parsed else None)
        if kind == "opsgenie":
            code = og_status if og_errors else self.server.status
        elif kind == "slack":
            code = 400 if slack_error else self.server.status
        else:
            code = 400 if errors else self.server.status

        headers = {}
        for name in ("Content-Type", "User-Agent", "Idempotency-Key"):
            if self.headers.get(name) is not None:
                headers[name] = self.headers.get(name)
        record = {"path": self.path, "method": self.command, "headers": headers,
                  "body": body, "ts": time.time(), "status": code}
        record.update(record_extra)
        rid = None
        if kind == "opsgenie":
            with self.server.lock:
                self.server.nreq += 1
                rid = "%08x-%04d-probed-test" % (int(time.time() * 1000) & 0xffffffff,
                                                 self.server.nreq)
            if self.server.request_id:
                record["request_id"] = rid
        if og_errors or slack_error:
            record["errors"] = og_errors or slack_error
        self.server.recorder.append(record)

        ra = getattr(self.server, "retry_after", "1")
        extra = {"Retry-After": ra} if code == 429 and ra else None
        if kind == "opsgenie":
            if og_errors:
                self.reply(code, {"message": "Request is not valid",
                                  "errors": og_errors, "took": 0.001,
                                  "requestId": rid})
            elif 200 <= code < 300:
                ans = {"result": "Request will be processed", "took": 0.001}
                if self.server.request_id:
                    ans["requestId"] = rid
                self.reply(code, ans)
            else:
                self.reply(code, {"message": "simulated failure",
                                  "took": 0.001, "requestId": rid}, extra)
        elif kind == "slack":
            if slack_error:
                self.reply(400, slack_error, ctype="text/plain")
            elif 200 <= code < 300:
                self.reply(code, "ok", ctype="text/plain")
            else:
                self.reply(code, "simulated_failure", extra, "text/plain")
        elif errors:
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
    ap.add_argument("--kind", choices=("webhook", "pagerduty", "opsgenie",
                                       "slack"),
                    default="webhook")
    ap.add_argument("--status", type=int, default=None,
                    help="code for accepted requests (default 202 for "
                         "pagerduty and opsgenie, 200 otherwise)")
    ap.add_argument("--api-key", default=None,
                    help="opsgenie: the GenieKey the requests must carry")
    ap.add_argument("--no-request-id", action="store_true",
                    help="opsgenie: answer 202 without a requestId")
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
                     else 202 if args.kind in ("pagerduty", "opsgenie")
                     else 200)
    server.api_key = args.api_key
    server.request_id = not args.no_request_id
    server.lock = threading.Lock()
    server.nreq = 0
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
