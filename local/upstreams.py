"""Local stand-ins for NL3 and ipinfo, for `make run` (no internet, no accounts).

One loopback server, standard library only:
  POST /nl3/api/v1/accountProtectionCheck  NL3's lock check. Verifies the x-nl3-authorization-token
      JWT (HS256, key = base64-decoded SIGNING_KEY, exp/nbf, iss/aud present) and the body fields;
      answers {"locked": "true"} for users whose name starts with "locked", else "false".
  GET /<ip>                                  ipinfo. Requires `Authorization: Bearer IPINFO_TOKEN`
      when IPINFO_TOKEN is set; answers ipinfo-shaped JSON.
  HEAD/GET /                                 200 (the hook opens its connection at start-up).
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SIGNING_KEY = base64.b64decode(os.environ.get("SIGNING_KEY", base64.b64encode(b"local-dev-signing-key")))
IPINFO_TOKEN = os.environ.get("IPINFO_TOKEN", "")
BODY_FIELDS = {"userIP", "userDevice", "userLocation", "integrationType", "integrationData"}
ONE_ONE_ONE_ONE = {
    "ip": "1.1.1.1", "hostname": "one.one.one.one", "city": "Miami", "region": "Florida",
    "country": "US", "loc": "25.7867,-80.1800", "org": "AS13335 Cloudflare, Inc.",
    "postal": "33132", "timezone": "America/New_York",
}


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_jwt(token):
    """The claims of a valid HS256 token, or raise ValueError saying why not."""
    try:
        header, payload, signature = token.split(".")
    except ValueError:
        raise ValueError("not a JWT")
    if json.loads(b64url_decode(header)).get("alg") != "HS256":
        raise ValueError("alg is not HS256")
    expected = hmac.new(SIGNING_KEY, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, b64url_decode(signature)):
        raise ValueError("bad signature")
    claims = json.loads(b64url_decode(payload))
    now = time.time()
    if claims.get("exp", 0) < now or claims.get("nbf", 0) > now:
        raise ValueError("expired or not yet valid")
    if not all(claims.get(k) for k in ("iss", "aud", "sub")):
        raise ValueError("iss, aud or sub missing")
    return claims


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.answer(200, {})

    def do_GET(self):
        ip = self.path.strip("/")
        if not ip or ip == "healthz":
            return self.answer(200, {"ok": True})
        if IPINFO_TOKEN and self.headers.get("Authorization") != f"Bearer {IPINFO_TOKEN}":
            return self.answer(403, {"error": {"title": "Wrong token"}})
        if ip == "1.1.1.1":
            return self.answer(200, ONE_ONE_ONE_ONE)
        return self.answer(200, {"ip": ip, "city": "Springfield", "region": "Illinois", "country": "US",
                                 "loc": "39.7817,-89.6501", "org": "AS64500 Example Net",
                                 "postal": "62701", "timezone": "America/Chicago"})

    def do_POST(self):
        if self.path != "/nl3/api/v1/accountProtectionCheck":
            return self.answer(404, {"message": "not found"})
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            claims = verify_jwt(self.headers.get("x-nl3-authorization-token", ""))
        except ValueError as e:
            return self.answer(401, {"message": f"invalid token: {e}"})
        try:
            check = json.loads(body)
            assert set(check) == BODY_FIELDS, f"body fields {sorted(check)}"
        except (ValueError, AssertionError) as e:
            return self.answer(400, {"message": f"bad body: {e}"})
        locked = claims["sub"].startswith("locked")
        print(f"NL3 check: sub={claims['sub']} type={check['integrationType']} "
              f"location={check['userLocation']!r} -> {'LOCKED' if locked else 'not locked'}",
              file=sys.stderr, flush=True)
        self.answer(200, {"locked": "true" if locked else "false", "message": "stand-in", "status": "ok"})

    def log_message(self, *args):
        pass  # one line per check above is enough


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9010)
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"upstreams listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
