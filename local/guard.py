#!/usr/bin/env python3
"""The after-sign-in guard of `make run` (docs/after-sign-in.md), checked and tried.

    local/guard.py receiver EVENTS_URL
    local/guard.py verified OKTA_URL ORG EVENTS_URL
    local/guard.py worker INVOKE_URL
    local/guard.py try OKTA_URL ORG SEED GUARD_LOG QUARANTINE_GROUP [--within SECONDS]

`receiver`, `verified` and `worker` are local/run.sh's readiness checks of the guard's path, one
attempt each: exit 0 ready, 1 failed (why is printed), 2 not answering yet (run.sh asks again,
bounded).
- receiver: the receiver answers a call without the hook secret `401`, as it answers a stranger.
- verified: the Okta stand-in holds an event hook calling EVENTS_URL, ACTIVE and VERIFIED (Okta's
  challenge answered by the receiver with the hook secret: `nl3-okta-admin setup --events`).
- worker: the worker, invoked as Lambda's SQS event source invokes it, checks a probe sign-in (a
  user NL3 does not lock, whom Okta does not know: nothing is changed in Okta) and hands nothing
  back: its NL3 settings, the hook secret and its Okta credentials all work.

`try` is `make try`'s guard part: the Okta stand-in delivers (POST /__control/orgs/ORG/deliver) a
`user.session.start` of the sample org's (SEED's) locked user and of its unlocked user to its
event hooks; it waits (at most --within seconds, default 60) until the worker has logged what it
did with each (in GUARD_LOG, the log of the receiver's and worker's `cargo lambda watch`), and
prints one line each: the user, what the guard did, what the Okta stand-in recorded
(`sessionsRevoked`, the quarantine group's members). Exits 1 unless the locked user was contained
(sessions revoked, in the quarantine group) and the unlocked one left alone."""
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

from sqs_source import lambda_event

READY, FAILED, NOT_YET = 0, 1, 2


def call(url, method="GET", body=None, headers=None, timeout=30):
    """(status, parsed JSON or raw text) of one HTTP call; urllib's error for no answer."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def session_start(user_id, login, ip="1.1.1.1"):
    """A `user.session.start` System Log event (a successful sign-in to Okta), as Okta publishes it."""
    event_uuid = str(uuid.uuid4())
    return {
        "uuid": event_uuid, "published": now_iso(), "eventType": "user.session.start", "version": "0",
        "severity": "INFO", "displayMessage": "User login to Okta",
        "legacyEventType": "core.user_auth.login_success",
        "actor": {"id": user_id, "type": "User", "alternateId": login, "displayName": login},
        "client": {"ipAddress": ip, "device": "Computer", "zone": "null",
                   "userAgent": {"rawUserAgent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                                 "os": "Linux", "browser": "FIREFOX"}},
        "outcome": {"result": "SUCCESS"},
        "target": [],
        "transaction": {"type": "WEB", "id": "tx" + event_uuid.replace("-", "")[:20], "detail": {}},
        "debugContext": {"debugData": {"requestUri": "/idp/idx/identify"}},
    }


def receiver(url):
    try:
        status, body = call(url, timeout=60)
    except (urllib.error.URLError, OSError) as e:
        print(f"the receiver does not answer yet ({e})")
        return NOT_YET
    if status == 401:
        return READY
    if isinstance(body, dict) and "error" in body:
        print(f"the receiver answered a call without the hook secret {status} {body}, not 401")
        return FAILED
    print(f"the receiver does not answer yet (the emulator answered {status}: {str(body)[:200]})")
    return NOT_YET


def event_hook(okta_url, org, events_url):
    state = call(f"{okta_url}/__control/orgs/{org}")[1]
    return next((h for h in state.get("eventHooks", [])
                 if h.get("channel", {}).get("config", {}).get("uri") == events_url), None)


def verified(okta_url, org, events_url):
    hook = event_hook(okta_url, org, events_url)
    if hook is None:
        print(f"the Okta stand-in has no event hook calling {events_url}")
        return FAILED
    if (hook.get("status"), hook.get("verificationStatus")) != ("ACTIVE", "VERIFIED"):
        print(f"the event hook {hook['id']} calling {events_url} is {hook.get('status')} and"
              f" {hook.get('verificationStatus')}, not ACTIVE and VERIFIED")
        return FAILED
    print(f"   event hook {hook['id']} ({hook.get('name')}): ACTIVE, VERIFIED, calls {events_url}")
    return READY


def sqs_event(events):
    """The event Lambda's SQS event source hands the worker for these System Log events, as
    local/sqs_source.py builds it from the messages SQS would give."""
    now = str(int(time.time() * 1000))
    messages = [{
        "MessageId": str(uuid.uuid4()), "ReceiptHandle": "probe", "Body": json.dumps(e), "MD5OfBody": "",
        "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": now, "SenderId": "local",
                       "ApproximateFirstReceiveTimestamp": now, "MessageGroupId": e["actor"]["id"],
                       "MessageDeduplicationId": e["uuid"], "SequenceNumber": "1"},
    } for e in events]
    return lambda_event("arn:aws:sqs:us-east-1:123456789012:probe.fifo", messages)


def worker(invoke_url):
    probe = session_start("00uLOCALPROBE01", "probe.unlocked@acme.example")
    try:
        status, answer = call(invoke_url, "POST", sqs_event([probe]), timeout=60)
    except (urllib.error.URLError, OSError) as e:
        print(f"the worker does not answer yet ({e})")
        return NOT_YET
    if status != 200 or not isinstance(answer, dict) or "batchItemFailures" not in answer:
        print(f"the worker does not answer yet ({status}: {str(answer)[:200]})")
        return NOT_YET
    if answer["batchItemFailures"]:
        print("the worker handed back a probe sign-in (a user NL3 does not lock) instead of checking"
              " it: its NL3 settings, the hook secret or its Okta credentials do not work")
        return FAILED
    return READY


def outcomes(log, uuids):
    """uuid -> (outcome, None) once the worker logged what it did, or (None, error) while it
    logged only a failure (the event is back on the queue)."""
    found = {}
    try:
        lines = open(log, encoding="utf-8", errors="replace").read().splitlines()
    except OSError:
        return found
    for line in lines:
        if not line.startswith("{"):
            continue
        try:
            fields = json.loads(line).get("fields", {})
        except ValueError:
            continue
        u = fields.get("uuid")
        if u not in uuids or found.get(u, (None, None))[0]:
            continue
        if "outcome" in fields:
            found[u] = (fields["outcome"], None)
        elif fields.get("error"):
            found[u] = (None, fields["error"])
        elif fields.get("why"):
            found[u] = ("skipped: " + fields["why"], None)
    return found


GUARD_DID = {  # the worker's outcomes (admin/src/guard.rs, Done::name), as a user reads them
    "contained": "contained: sessions ended, tokens revoked, quarantined",
    "not_locked": "not locked: nothing to do",
}


def try_it(okta_url, org, seed, log, group, within):
    users = json.load(open(seed, encoding="utf-8"))["users"]
    locked = next(u for u in users if u["profile"]["login"].startswith("locked"))
    unlocked = next(u for u in users if not u["profile"]["login"].startswith("locked"))
    cases = [(locked, True), (unlocked, False)]
    before = call(f"{okta_url}/__control/orgs/{org}")[1]
    events = [session_start(u["id"], u["profile"]["login"]) for u, _ in cases]
    _, report = call(f"{okta_url}/__control/orgs/{org}/deliver", "POST", {"events": events})
    delivered = [d for d in report.get("deliveries", []) if d.get("delivered")]
    print()
    if not delivered:
        print(f"GUARD: the Okta stand-in delivered the sign-ins to no event hook: {json.dumps(report)[:400]}")
        return 1
    print("GUARD: the Okta stand-in's event hook delivered a user.session.start of each sample-org"
          " user to the receiver, which queued it for the worker:")
    uuids = {e["uuid"] for e in events}
    deadline = time.monotonic() + within
    while True:
        seen = outcomes(log, uuids)
        if all(seen.get(u, (None, None))[0] for u in uuids) or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # the next look at the worker's log
    after = call(f"{okta_url}/__control/orgs/{org}")[1]
    members = next((g.get("members", []) for g in after.get("groups", []) if g["id"] == group), [])
    failed = 0
    print("%-26s %-56s %s" % ("USER", "GUARD DID", "OKTA STAND-IN RECORDED"))
    for (user, is_locked), event in zip(cases, events):
        uid, login = user["id"], user["profile"]["login"]
        outcome, error = seen.get(event["uuid"], (None, None))
        did = GUARD_DID.get(outcome, outcome) if outcome else (
            f"nothing within {within:g} s" + (f" (last error: {error[:150]})" if error else ""))
        revoked = after.get("sessionsRevoked", {}).get(uid, [])[len(before.get("sessionsRevoked", {}).get(uid, [])):]
        quarantined = uid in members
        recorded = "%s; %s" % (
            "sessions revoked (oauthTokens=%s)" % str(revoked[-1].get("oauthTokens")).lower() if revoked
            else "no sessions revoked",
            f"member of the quarantine group {group}" if quarantined else "not in the quarantine group")
        right = (outcome == "contained" and bool(revoked) and revoked[-1].get("oauthTokens") is True
                 and quarantined) if is_locked else (
            outcome == "not_locked" and not revoked and not quarantined)
        expected = "contained, sessions revoked, quarantined" if is_locked else "not locked, left alone"
        mark = "ok" if right else f"EXPECTED {expected}"
        failed |= not right
        print("%-26s %-56s %s  %s" % (login, did, recorded, mark))
    return 1 if failed else 0


def main(args):
    command, rest = args[0], args[1:]
    if command == "receiver":
        return receiver(*rest)
    if command == "verified":
        return verified(*rest)
    if command == "worker":
        return worker(*rest)
    if command == "try":
        within = 60.0
        if "--within" in rest:
            i = rest.index("--within")
            within = float(rest[i + 1])
            del rest[i:i + 2]
        return try_it(*rest, within=within)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
