#!/usr/bin/env python3
"""Hostile HTTP clients for the listener fault tests (loopback only, bounded).

  connflood.py hold PORT --count N [--addrs 127.0.0.2-127.0.0.9] --ready FILE
               --release FILE [--max-hold S]
      Open N connections (round-robin over the source addresses, non-blocking),
      write FILE ("open N") once they are connected, hold them silently until
      the file --release exists (or --max-hold seconds), then close them all in
      one go.

  connflood.py slowloris PORT --count N [--addrs ...] --every S --duration S
      N connections that each send a request head one byte every S seconds and
      never finish it; a connection the server drops is reopened at once (as a
      slowloris tool does). After --duration seconds every connection is closed
      in one go. Prints how many drops the server made.

Every loop is bounded in count and time; only 127.0.0.0/8 addresses are used.
"""

import argparse
import errno
import ipaddress
import resource
import select
import socket
import sys
import time

HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n"


def addr_range(spec):
    lo, _, hi = spec.partition("-")
    a, b = ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi or lo)
    out = [str(ipaddress.IPv4Address(i)) for i in range(int(a), int(b) + 1)]
    if not out or len(out) > 64 or not all(ipaddress.IPv4Address(x).is_loopback for x in out):
        raise argparse.ArgumentTypeError("1-64 addresses in 127.0.0.0/8")
    return out


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, n + 64))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def open_one(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.bind((src, 0))
    rc = s.connect_ex(("127.0.0.1", port))
    if rc not in (0, errno.EINPROGRESS):
        s.close()
        return None
    return s


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def cmd_hold(a):
    raise_nofile(a.count)
    socks = []
    for i in range(a.count):
        s = open_one(a.port, a.addrs[i % len(a.addrs)])
        if s is not None:
            socks.append(s)
    # wait (at most 5 s) for the connects to finish: the kernel completes them
    # into the listen backlog whether or not the server accepts
    deadline = time.monotonic() + 5
    pending = {s.fileno(): s for s in socks}
    p = select.poll()
    for fd in pending:
        p.register(fd, select.POLLOUT)
    while pending and time.monotonic() < deadline:
        for fd, _ in p.poll(200):
            p.unregister(fd)
            pending.pop(fd, None)
    with open(a.ready, "w") as f:
        f.write("open %d\n" % (len(socks) - len(pending)))
    deadline = time.monotonic() + a.max_hold
    while time.monotonic() < deadline:
        try:
            open(a.release).close()
            break
        except FileNotFoundError:
            time.sleep(0.05)
    t = time.monotonic()
    close_all(socks)
    print("hold: %d opened, %d still connecting, all closed in %.3f s"
          % (len(socks), len(pending), time.monotonic() - t))
    return 0


def cmd_slowloris(a):
    raise_nofile(a.count)
    conns = {}  # socket -> bytes sent
    drops = opened = 0

    def reopen(i):
        nonlocal opened
        s = open_one(a.port, a.addrs[i % len(a.addrs)])
        if s is not None:
            conns[s] = 0
            opened += 1

    for i in range(a.count):
        reopen(i)
    end = time.monotonic() + a.duration
    next_send = time.monotonic()
    while time.monotonic() < end:
        timeout = max(0.0, min(next_send, end) - time.monotonic())
        p = select.poll()
        byfd = {s.fileno(): s for s in conns}
        for fd in byfd:
            p.register(fd, select.POLLIN)
        for fd, _ in p.poll(int(timeout * 1000)):
            s = byfd[fd]  # readable: the server answered (408) or closed
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                conns.pop(s, None)
                s.close()
                drops += 1
                if opened < a.count * 50:  # bounded: at most 50 rounds of reopening
                    reopen(drops)
        if time.monotonic() >= next_send:
            next_send += a.every
            for s in list(conns):
                k = conns[s]
                if k >= len(HEAD):
                    continue
                try:
                    s.send(HEAD[k:k + 1])
                    conns[s] = k + 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    conns.pop(s, None)
                    s.close()
                    drops += 1
                    if opened < a.count * 50:
                        reopen(drops)
    n = len(conns)
    close_all(list(conns))
    print("slowloris: %d connections opened in all, %d dropped by the server, %d closed at the end"
          % (opened, drops, n))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("port", type=int)
    h.add_argument("--count", type=int, required=True)
    h.add_argument("--addrs", type=addr_range, default=addr_range("127.0.0.2-127.0.0.9"))
    h.add_argument("--ready", required=True)
    h.add_argument("--release", required=True)
    h.add_argument("--max-hold", type=float, default=30)
    s = sub.add_parser("slowloris")
    s.add_argument("port", type=int)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--addrs", type=addr_range, default=addr_range("127.0.0.2-127.0.0.9"))
    s.add_argument("--every", type=float, default=2.0)
    s.add_argument("--duration", type=float, default=15)
    a = ap.parse_args()
    if not 1 <= a.count <= 2000:
        ap.error("--count: 1..2000")
    if a.cmd == "hold":
        a.max_hold = min(a.max_hold, 120)
        return cmd_hold(a)
    a.duration = min(a.duration, 120)
    return cmd_slowloris(a)


if __name__ == "__main__":
    sys.exit(main())
