#!/usr/bin/env python3
"""A recording SMTP server for the email target's test (aiosmtpd, on loopback).

STARTTLS with the given certificate is required before MAIL and AUTH; AUTH checks one
user and password. Each accepted message is one JSON line in --out: mail_from, rcpt,
tls, auth (logged in), data (the message as text). Every RCPT is one JSON line in
--attempts with the reply code. The reply to RCPT comes from --mode-file: "ok" (250),
"451" (transient) or "554" (permanent), read on every RCPT.
"""
import argparse
import asyncio
import json
import ssl

from aiosmtpd.smtp import SMTP, AuthResult


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--attempts", required=True)
    ap.add_argument("--mode-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    a = ap.parse_args()
    password = open(a.password_file).read().strip()

    def log(path, rec):
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            try:
                mode = open(a.mode_file).read().strip()
            except FileNotFoundError:
                mode = "ok"
            code = {"451": 451, "554": 554}.get(mode, 250)
            log(a.attempts, {"rcpt": address, "code": code})
            if code == 451:
                return "451 4.3.0 mailbox busy, try again later"
            if code == 554:
                return "554 5.7.1 recipient rejected"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            log(a.out, {
                "mail_from": envelope.mail_from,
                "rcpt": envelope.rcpt_tos,
                "tls": session.ssl is not None,
                "auth": bool(session.authenticated),
                "data": envelope.content.decode("utf-8", "replace"),
            })
            return "250 2.0.0 queued"

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode() == a.user and auth_data.password.decode() == password)
        return AuthResult(success=ok, handled=False)

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)

    async def run():
        loop = asyncio.get_running_loop()
        srv = await loop.create_server(
            lambda: SMTP(Handler(), hostname="probed-test", tls_context=ctx,
                         require_starttls=True, authenticator=authenticator,
                         auth_require_tls=True, decode_data=False),
            "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        import os
        os.rename(tmp, a.port_file)
        await srv.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
