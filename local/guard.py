#!/usr/bin/env python3
"""The after-sign-in guard of `make run` (docs/after-sign-in.md), checked.

    local/guard.py receiver EVENTS_URL
    local/guard.py verified OKTA_URL ORG EVENTS_URL
    local/guard.py worker INVOKE_URL

local/run.sh's readiness checks of the guard's path, one attempt each: exit 0 ready, 1 failed (why
is printed), 2 not answering yet (run.sh asks again, bounded).
- receiver: the receiver answers a call without the hook secret `401`, as it answers a stranger.
- verified: the Okta stand-in holds an event hook calling EVENTS_URL, ACTIVE and VERIFIED (Okta's
  challenge answered by the receiver with the hook secret: `nl3-okta-admin setup --events`).
- worker: the worker, invoked as Lambda's SQS event source invokes it, checks a probe sign-in (a
  user NL3 does not lock, whom Okta does not know: nothing is changed in Okta) and hands nothing
  back: its NL3 settings, the hook secret and its Okta credentials all work.
"""
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

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
    """The event Lambda's SQS event source hands the worker for these System Log events."""
    return {"Records": [{
        "messageId": str(uuid.uuid4()), "receiptHandle": "probe", "body": json.dumps(e),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000)),
                       "SenderId": "local", "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000)),
                       "MessageGroupId": e["actor"]["id"], "MessageDeduplicationId": e["uuid"],
                       "SequenceNumber": "1"},
        "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:probe.fifo", "awsRegion": "us-east-1",
    } for e in events]}


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


def main(args):
    command, rest = args[0], args[1:]
    if command == "receiver":
        return receiver(*rest)
    if command == "verified":
        return verified(*rest)
    if command == "worker":
        return worker(*rest)
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
