#!/usr/bin/env python3
"""A stand-in for Okta's Management API, for nl3-okta-admin's tests.

Keeps orgs in memory and checks every request it receives and every response it sends against
Okta's published OpenAPI document (the subset in tests/fixtures/okta/management-openapi-subset.json,
extracted by extract_subset.py). Anything the document does not allow is recorded as a violation,
which the tests read and fail on.

An org is seeded (POST /__control/orgs) from JSON as Okta would list it, each key optional:
  "token"                  the API token (else one is made up); "oauth": true adds a service app
  "hooks"                  inline hooks; "_secret" in one is its authScheme.value
  "authorizationServers"   each with "policies", each with "rules"
  "apps", "users"          app instances, users
  "eventHooks"             event hooks; "_secret" as for inline hooks (an event type the catalog
                           does not mark event-hook-eligible is a violation)
  "groups"                 groups, each with "members": [user id, ...]
  "policies"               /api/v1/policies (OKTA_SIGN_ON, ACCESS_POLICY, ...), each with "rules"
  "logs"                   System Log events (LogEvent), with "logPageSize" and "logsRateLimited"
                           (how many /api/v1/logs calls answer 429 first)
  "pageSize", "rateLimitAt"  list page size; request numbers answered 429

One server serves many independent orgs at once: each org has its own API token (and OAuth
service app), so parallel tests never see each other's state. Control endpoints (not Okta's):

  POST /__control/orgs                   seed an org; answers {org, token, clientId, privateKeyPem}
  GET  /__control/orgs/{org}             the org's state: hooks, hookSecrets, authorizationServers,
                                         apps, eventHooks, eventHookSecrets, eventHookVerifications,
                                         deliveries, groups (with members), sessionsRevoked (user id
                                         -> [{oauthTokens, forgetDevices, at}]), policies (with
                                         rules), logs, requests ("METHOD /path?query -> status")
                                         and violations
  GET  /__control/violations             violations of requests no org could be named for
  POST /__control/orgs/{org}/faults      Okta refusing: a list of {method, pathContains, status
                                         [, errorCode, errorSummary, times]}; each request that
                                         matches one is answered with that error (`times` of them,
                                         or all) instead of being carried out (a 429 with Okta's
                                         X-Rate-Limit-* headers). [] clears them.
  POST /__control/orgs/{org}/deliver     events happen and Okta delivers them: {"events":
                                         [LogEvent, ...][, "timeoutSeconds": 3]}; the System Log
                                         gains them (once per uuid); each ACTIVE and VERIFIED event
                                         hook subscribed to some of their types gets one POST of
                                         Okta's envelope (com.okta.event_hook) with those events,
                                         its custom headers and auth header; a timeout, a failed
                                         connection or a 5xx is retried once, a 4xx is not; a
                                         delivery failing both ways adds `event_hook.delivery`
                                         (outcome FAILURE, target the EventHook) to the System
                                         Log. Answers {"deliveries": [per event hook: eventHookId,
                                         name, and skipped, or eventId, events, attempts,
                                         delivered]}.
  POST /__control/orgs/{org}/events      only appends {"events": [LogEvent, ...]} to the System Log
                                         (both check the events against the LogEvent schema:
                                         a violation and a 400 for what Okta would never send)

An event hook's verification (POST .../lifecycle/verify) makes the stand-in GET its URI with its
custom headers, its auth header and `X-Okta-Verification-Challenge`; a 200 whose JSON
`verification` is that value makes it VERIFIED, else Okta's 400 (a timeout or error status is
retried once). Calls out to hooks run without the stand-in's lock, so the hook may call the
stand-in back meanwhile.

Started by the tests as a child process: `server.py` prints `LISTENING <port>` once ready and
exits when its standard input closes (the test process ended).

Where the document is ambiguous, the stand-in is explicit: the execute operation's request and
response are `oneOf` lists of loose schemas (Okta's own samples match several branches), so
they are checked against the branch of the hook's type (TokenRequest / SAMLPayloadExecute and
TokenHookResponse / SAMLHookResponse). Responses with a status the operation does not list
(401 for a bad token, 429 where undeclared) are checked against the document's `Error` schema.
Event hooks: created ACTIVE and UNVERIFIED (the create example reuses a VERIFIED retrieve
example); the auth header's name is listed lower-cased, as the document's examples show it;
replacing the channel (URI, headers or secret) makes the hook UNVERIFIED again ("Updating the
channel property requires you to verify the hook again"), sending the same channel back does
not; only event types Okta's catalog tags event-hook-eligible may be subscribed to (else 400;
tests/fixtures/okta/event-hook-eligible-event-types.json); event hook filters are kept, not
applied. Group membership of a group other than OKTA_GROUP is refused with a 400.
"""
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from urllib.parse import parse_qs, urlencode

from openapi_core import Config, OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.validators import (
    V30RequestBodyValidator,
    V30RequestParametersValidator,
    V30RequestSecurityValidator,
)
from openapi_core.validation.response.validators import (
    V30ResponseDataValidator,
    V30ResponseHeadersValidator,
)
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

HERE = os.path.dirname(os.path.abspath(__file__))
SUBSET = os.path.join(HERE, "..", "fixtures", "okta", "management-openapi-subset.json")
ELIGIBLE = os.path.join(HERE, "..", "fixtures", "okta", "event-hook-eligible-event-types.json")
TOKEN_HOOK = "com.okta.oauth2.tokens.transform"
SAML_HOOK = "com.okta.saml.tokens.transform"

LOCK = threading.RLock()
ORGS = {}  # org id -> Org
TOKENS = {}  # SSWS token -> org id
CLIENTS = {}  # OAuth client_id -> (org id, public key)
ACCESS_TOKENS = {}  # access token -> (org id, scopes)
GLOBAL_VIOLATIONS = []


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def new_id(prefix):
    return prefix + secrets.token_hex(8)[:17]


class Org:
    def __init__(self, oid, seed):
        self.id = oid
        self.hooks = []  # Okta JSON, with "_secret" kept aside in self.hook_secrets
        self.hook_secrets = {}
        self.servers = []  # {"server": {...}, "policies": [{"policy": {...}, "rules": [...]}]}
        self.apps = []
        self.users = seed.get("users", [])
        self.page_size = seed.get("pageSize", 200)
        self.rate_limit_at = set(seed.get("rateLimitAt", []))  # request numbers answered 429
        self.faults = []  # set through /__control/orgs/{org}/faults
        self.requests = 0
        self.log = []
        self.violations = []
        for h in seed.get("hooks", []):
            h = dict(h)
            secret = h.pop("_secret", None)
            self.hooks.append(h)
            if secret is not None:
                self.hook_secrets[h["id"]] = secret
        for s in seed.get("authorizationServers", []):
            s = dict(s)
            policies = s.pop("policies", [])
            entry = {"server": s, "policies": []}
            for p in policies:
                p = dict(p)
                rules = p.pop("rules", [])
                entry["policies"].append({"policy": p, "rules": rules})
            self.servers.append(entry)
        self.apps = seed.get("apps", [])
        # System Log (the sentinel): events as Okta lists them, in `published` order; the page
        # size; how many /api/v1/logs calls answer 429 before one is served.
        self.logs = seed.get("logs", [])
        self.log_page_size = seed.get("logPageSize", 1000)
        self.logs_rate_limited = seed.get("logsRateLimited", 0)
        # The after-sign-in guard (CONTRACT.md section 8): event hooks (Okta JSON without
        # authScheme.value, "_secret" kept aside), groups and their members (user ids), global
        # session / authentication policies with their rules; what the guard did to them.
        self.admin_id = "00u" + secrets.token_hex(8)[:17]  # createdBy of what the API token creates
        self.event_hooks = []
        self.event_hook_secrets = {}
        for h in seed.get("eventHooks", []):
            h = dict(h)
            secret = h.pop("_secret", None)
            self.event_hooks.append(h)
            if secret is not None:
                self.event_hook_secrets[h["id"]] = secret
            for t in ineligible_event_types(h.get("events")):
                self.violations.append("seed: event hook %s subscribes to %s, which Okta's event type catalog does not mark event-hook-eligible" % (h.get("id"), t))
        self.groups = []
        self.members = {}  # group id -> user ids, in the order they were added
        for g in seed.get("groups", []):
            g = dict(g)
            self.members[g["id"]] = list(g.pop("members", []))
            self.groups.append(g)
        self.policies = []  # {"policy": {...}, "rules": [...]}
        for p in seed.get("policies", []):
            p = dict(p)
            rules = p.pop("rules", [])
            self.policies.append({"policy": p, "rules": rules})
        self.sessions_revoked = {}  # user id -> [{"oauthTokens", "forgetDevices", "at"}]
        self.verifications = []  # each verify call: {"eventHookId", "attempts", "verified"}
        self.deliveries = []  # each delivery to a hook: {"eventHookId", "eventId", ...}

    def state(self):
        return {
            "hooks": self.hooks,
            "hookSecrets": self.hook_secrets,
            "authorizationServers": [
                dict(e["server"], policies=[dict(p["policy"], rules=p["rules"]) for p in e["policies"]])
                for e in self.servers
            ],
            "apps": self.apps,
            "eventHooks": self.event_hooks,
            "eventHookSecrets": self.event_hook_secrets,
            "eventHookVerifications": self.verifications,
            "deliveries": self.deliveries,
            "groups": [dict(g, members=self.members.get(g["id"], [])) for g in self.groups],
            "sessionsRevoked": self.sessions_revoked,
            "policies": [dict(p["policy"], rules=p["rules"]) for p in self.policies],
            "logs": self.logs,
            "requests": self.log,
            "violations": self.violations,
        }


class OktaError(Exception):
    def __init__(self, status, code, summary, headers=None, causes=()):
        self.status, self.code, self.summary, self.headers = status, code, summary, headers or {}
        self.causes = list(causes)

    def body(self):
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": "oae" + secrets.token_hex(8),
            "errorCauses": [{"errorSummary": c} for c in self.causes],
        }


def injected_fault(org, request):
    """The error a matching fault answers with (see /__control/orgs/{org}/faults), or None."""
    for fault in org.faults:
        if fault["method"] == request.method and fault["pathContains"] in request.path and fault.get("times", 1) > 0:
            if "times" in fault:
                fault["times"] -= 1
            status = int(fault["status"])
            if status == 429:
                # Okta's 429 carries its rate limit's headers, the reset in epoch seconds.
                return OktaError(429, fault.get("errorCode", "E0000047"),
                                 fault.get("errorSummary", "API call exceeded rate limit due to too many requests."),
                                 {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "0",
                                  "X-Rate-Limit-Reset": str(int(time.time()) + 1)})
            code = fault.get("errorCode", "E0000009" if status >= 500 else "E0000001")
            summary = fault.get("errorSummary", "Internal Server Error" if status >= 500 else "Api validation failed")
            return OktaError(status, code, summary)
    return None


def not_found(what):
    return OktaError(404, "E0000007", "Not found: Resource not found: %s" % what)


# ----------------------------------------------------------------------------- validation

with open(SUBSET, encoding="utf-8") as f:
    SPEC_DOC = json.load(f)
REGISTRY = Registry().with_resource("urn:okta", Resource.from_contents(SPEC_DOC, default_specification=DRAFT4))
BRANCHES = {
    TOKEN_HOOK: ("TokenRequest", "TokenHookResponse"),
    SAML_HOOK: ("SAMLPayloadExecute", "SAMLHookResponse"),
}
EXECUTE_PATH = "/api/v1/inlineHooks/{inlineHookId}/execute"


def schema_errors(name, instance, write):
    cls = OAS30WriteValidator if write else OAS30ReadValidator
    validator = cls({"$ref": "urn:okta#/components/schemas/" + name}, registry=REGISTRY)
    return ["%s at %s: %s" % (name, "/".join(map(str, e.absolute_path)) or "(root)", e.message[:300])
            for e in validator.iter_errors(instance)]


class Validator:
    def __init__(self, base_url):
        doc = dict(SPEC_DOC, servers=[{"url": base_url}, {"url": base_url.replace("127.0.0.1", "localhost")}])
        config = Config(spec_validator_cls=None)
        api = OpenAPI.from_dict(doc, config=config)
        kw = dict(spec_validator_cls=None)
        self.params = V30RequestParametersValidator(api.spec, **kw)
        self.security = V30RequestSecurityValidator(api.spec, **kw)
        self.body = V30RequestBodyValidator(api.spec, **kw)
        self.data = V30ResponseDataValidator(api.spec, **kw)
        self.headers = V30ResponseHeadersValidator(api.spec, **kw)
        self.api = api

    def operation(self, request):
        """(path template, method, operation) or None."""
        try:
            path, _, _, _, _ = self.params._find_path(WerkzeugOpenAPIRequest(request))
        except PathError:
            return None
        template = path.parts[-1]
        method = request.method.lower()
        return template, method, SPEC_DOC["paths"][template][method]

    def check_request(self, request, template, hook_type):
        req = WerkzeugOpenAPIRequest(request)
        errors = [describe(e) for e in self.params.iter_errors(req)]
        errors += [describe(e) for e in self.security.iter_errors(req)]
        if template == EXECUTE_PATH:
            if hook_type in BRANCHES:
                errors += schema_errors(BRANCHES[hook_type][0], json.loads(request.get_data() or b"null"), True)
        else:
            errors += [describe(e) for e in self.body.iter_errors(req)]
        return errors

    def check_response(self, request, response, template, hook_type, declared):
        req = WerkzeugOpenAPIRequest(request)
        resp = WerkzeugOpenAPIResponse(response)
        body = json.loads(response.get_data() or b"null")
        errors = [describe(e) for e in self.headers.iter_errors(req, resp)] if str(response.status_code) in declared else []
        if str(response.status_code) not in declared:
            errors += schema_errors("Error", body, False)
        elif declared[str(response.status_code)].get("content") == {}:
            # `content: {}` (a 204): no body at all, which openapi-core would call missing data.
            if response.get_data():
                errors.append("the document declares no body for %d, yet the response has one" % response.status_code)
        elif template == EXECUTE_PATH and response.status_code == 200:
            if hook_type in BRANCHES:
                errors += schema_errors(BRANCHES[hook_type][1], body, False)
        else:
            errors += [describe(e) for e in self.data.iter_errors(req, resp)]
        return errors


def describe(e):
    """The error's class and the schema errors under it (openapi-core's message quotes the whole value)."""
    return type(e).__name__ + (detail(e) or ": " + str(e)[:300])


def detail(e):
    parts = []
    cause = e.__cause__ or e.__context__
    while cause is not None and len(parts) < 3:
        if isinstance(cause, KeyError):
            break  # werkzeug's missing-argument error says less than openapi-core's own message
        inner = getattr(cause, "schema_errors", None)
        if inner:
            parts += ["%s: %s" % ("/".join(map(str, x.absolute_path)) or "(root)", x.message[:300]) for x in inner]
            break
        parts.append(str(cause)[:300])
        cause = cause.__cause__ or cause.__context__
    return (" [" + "; ".join(parts) + "]") if parts else ""


# ----------------------------------------------------------------------------- the API


def page(request, org, items, base_path):
    """Okta's cursor pagination: `limit` and `after`, `Link` headers for self and next."""
    limit = min(int(request.args.get("limit", org.page_size) or org.page_size), org.page_size)
    after = request.args.get("after")
    start = 0
    if after is not None:
        ids = [i["id"] for i in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    chunk = items[start:start + limit]
    base = request.host_url.rstrip("/") + base_path
    self_query = {k: v for k, v in request.args.items()}
    links = ['<%s?%s>; rel="self"' % (base, urlencode(self_query))]
    if start + limit < len(items):
        links.append('<%s?%s>; rel="next"' % (base, urlencode(dict(self_query, after=chunk[-1]["id"], limit=limit))))
    return chunk, links


def find(items, key, value, what):
    for item in items:
        if item.get(key) == value:
            return item
    raise not_found(what)


def apply_put(obj, body, keep):
    """A PUT: `obj` becomes `body`, but for the read-only fields in `keep`; lastUpdated is now."""
    kept = {k: obj[k] for k in keep if k in obj}
    obj.clear()
    obj.update(body)
    obj.update(kept)
    obj["lastUpdated"] = now_iso()


def hook_public(hook):
    """An inline hook as Okta shows it: the header secret's value never comes back."""
    out = json.loads(json.dumps(hook))
    auth = out.get("channel", {}).get("config", {}).get("authScheme")
    if isinstance(auth, dict):
        auth.pop("value", None)
    return out


def hook_links(hook_id, base):
    return {
        "self": {"href": "%s/api/v1/inlineHooks/%s" % (base, hook_id), "hints": {"allow": ["GET", "PUT", "DELETE"]}},
        "deactivate": {"href": "%s/api/v1/inlineHooks/%s/lifecycle/deactivate" % (base, hook_id), "hints": {"allow": ["POST"]}},
    }


def call_hook(hook, secret, payload):
    config = hook.get("channel", {}).get("config", {})
    auth = config.get("authScheme") or {}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if auth.get("key") and secret is not None:
        headers[auth["key"]] = secret
    req = urllib.request.Request(config.get("uri", ""), data=json.dumps(payload).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=3) as r:
            return json.loads(r.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise OktaError(400, "E0000001", "Api validation failed: the inline hook call failed (%s)" % type(e).__name__)


# ----------------------------------------------------------------------------- event hooks

with open(ELIGIBLE, encoding="utf-8") as f:
    EVENT_HOOK_ELIGIBLE = frozenset(json.load(f)["eventTypes"])
HOOK_TIMEOUT = 3  # seconds Okta waits for an event hook's answer (verification and deliveries)
SYSTEM_ACTOR = {"id": "system@okta.com", "type": "SystemPrincipal", "alternateId": "system@okta.com", "displayName": "Okta System"}


def ineligible_event_types(events):
    """The subscribed event types Okta's catalog does not tag event-hook-eligible."""
    items = (events or {}).get("items") or []
    return [t for t in items if t not in EVENT_HOOK_ELIGIBLE]


def take_secret(channel):
    """Removes and returns channel.config.authScheme.value (write-only: Okta never returns it)."""
    auth = (channel or {}).get("config", {}).get("authScheme")
    return auth.pop("value", None) if isinstance(auth, dict) else None


def event_hook_shape(hook):
    """Fills what Okta shows of an event hook that the request may leave out, as the document's
    examples show it: description and events.filter null, no custom headers, method POST, and
    the auth header's name lower-cased (sent `Authorization`, listed `authorization`)."""
    hook.setdefault("description", None)
    hook["events"].setdefault("filter", None)
    config = hook["channel"]["config"]
    config.setdefault("headers", [])
    config["method"] = "POST"
    auth = config.get("authScheme")
    if isinstance(auth, dict) and isinstance(auth.get("key"), str):
        auth["key"] = auth["key"].lower()


def event_hook_links(hook_id, base):
    href = "%s/api/v1/eventHooks/%s" % (base, hook_id)
    return {
        "self": {"href": href},
        "verify": {"href": href + "/lifecycle/verify", "hints": {"allow": ["POST"]}},
        "deactivate": {"href": href + "/lifecycle/deactivate", "hints": {"allow": ["POST"]}},
    }


def check_subscriptions(events):
    bad = ineligible_event_types(events)
    if bad:
        raise OktaError(400, "E0000001", "Api validation failed: events",
                        causes=["events.items: %s is not eligible for event hooks" % t for t in bad])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # Okta does not follow a hook's redirects: a 3xx is the answer


OPENER = urllib.request.build_opener(_NoRedirect)


def http_call(uri, method, headers, body, timeout):
    """One call to a hook: {"status": N, "body": text} or {"error": "timeout" | reason}."""
    req = urllib.request.Request(uri, data=body, headers=headers, method=method)
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return {"status": r.status, "body": r.read().decode("utf-8", "replace")}
    except urllib.error.HTTPError as e:
        return {"status": e.code, "body": e.read().decode("utf-8", "replace")}
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return {"error": "timeout"}
        return {"error": "%s: %s" % (type(reason).__name__, reason)}


def hook_headers(hook, secret):
    """What Okta sends with every call to an event hook: JSON, the custom headers, the auth header."""
    config = hook["channel"]["config"]
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    for h in config.get("headers") or []:
        if h and h.get("key"):
            headers[h["key"]] = h.get("value", "")
    auth = config.get("authScheme") or {}
    if auth.get("key") and secret is not None:
        headers[auth["key"]] = secret
    return headers


class Outbound:
    """An operation that calls out to a hook: `call()` runs without the stand-in's lock (the called
    service may call the stand-in back meanwhile), then `finish(outcome)` with it, returning
    (status, body, links) or raising OktaError."""

    def __init__(self, call, finish):
        self.call, self.finish = call, finish


def verify_event_hook(org, hook, base):
    """POST .../lifecycle/verify: one GET to the hook's URI with its headers and
    `X-Okta-Verification-Challenge`; VERIFIED on a 200 whose JSON `verification` is the challenge.
    A timeout or an error status is retried once (the operation's description); else Okta's 400."""
    snapshot = json.loads(json.dumps(hook))
    secret = org.event_hook_secrets.get(hook["id"])

    def call():
        challenge = secrets.token_urlsafe(24)
        headers = hook_headers(snapshot, secret)
        del headers["Content-Type"]  # a GET without a body
        headers["X-Okta-Verification-Challenge"] = challenge
        attempts = []
        for _ in range(2):
            answer = http_call(snapshot["channel"]["config"]["uri"], "GET", headers, None, HOOK_TIMEOUT)
            attempts.append(answer)
            if "status" in answer and 200 <= answer["status"] < 300:
                break  # an answer: right or wrong, it is not retried
        last = attempts[-1]
        verified = False
        if last.get("status") == 200:
            try:
                verified = json.loads(last["body"]).get("verification") == challenge
            except (ValueError, AttributeError):
                verified = False
        return {"attempts": [{k: v for k, v in a.items() if k != "body"} for a in attempts], "verified": verified,
                "why": describe_answer(last, "no verification value matching the challenge")}

    def finish(outcome):
        org.verifications.append({"eventHookId": hook["id"], "attempts": outcome["attempts"], "verified": outcome["verified"]})
        if not outcome["verified"]:
            raise OktaError(400, "E0000001", "Api validation failed: Verification failed",
                            causes=["Verification of the event hook failed: %s" % outcome["why"]])
        hook.update(verificationStatus="VERIFIED", lastUpdated=now_iso())
        return 200, hook, []

    return Outbound(call, finish)


def describe_answer(answer, wrong_body):
    if "error" in answer:
        return "the call failed (%s)" % answer["error"]
    if not 200 <= answer["status"] < 300:
        return "the endpoint answered %d" % answer["status"]
    return wrong_body


def handle_event_hooks(request, org, template, method, base, body, segs):
    if template == "/api/v1/eventHooks":
        if method == "get":
            return 200, org.event_hooks, []
        check_subscriptions(body.get("events"))
        hook = json.loads(json.dumps(body))
        secret = take_secret(hook["channel"])
        now = now_iso()
        hook_id = new_id("who")
        # Created ACTIVE (the operation's description) and UNVERIFIED: only verification makes
        # Okta deliver to it ("Only ACTIVE and VERIFIED event hooks can receive events").
        hook.update(id=hook_id, status="ACTIVE", verificationStatus="UNVERIFIED", created=now,
                    createdBy=org.admin_id, lastUpdated=now)
        event_hook_shape(hook)
        hook["_links"] = event_hook_links(hook_id, base)
        org.event_hooks.append(hook)
        if secret is not None:
            org.event_hook_secrets[hook_id] = secret
        return 200, hook, []
    hook = find(org.event_hooks, "id", segs[3], segs[3] + " (EventHook)")
    if template.endswith("/lifecycle/verify"):
        return verify_event_hook(org, hook, base)
    if template.endswith("/lifecycle/activate"):
        hook.update(status="ACTIVE", lastUpdated=now_iso())
    elif template.endswith("/lifecycle/deactivate"):
        hook.update(status="INACTIVE", lastUpdated=now_iso())
    elif method == "put":
        check_subscriptions(body.get("events"))
        new = json.loads(json.dumps(body))
        secret = take_secret(new["channel"])
        event_hook_shape(new)
        before = (json.dumps(hook["channel"], sort_keys=True), org.event_hook_secrets.get(hook["id"]))
        kept = {k: hook[k] for k in ("id", "status", "verificationStatus", "created", "createdBy", "_links") if k in hook}
        hook.clear()
        hook.update(new)
        hook.update(kept)
        hook["lastUpdated"] = now_iso()
        if secret is None:
            org.event_hook_secrets.pop(hook["id"], None)
        else:
            org.event_hook_secrets[hook["id"]] = secret
        # "Updating the channel property requires you to verify the hook again": a new URI,
        # header or secret makes it UNVERIFIED; the same channel sent back keeps it VERIFIED.
        if (json.dumps(hook["channel"], sort_keys=True), secret) != before:
            hook["verificationStatus"] = "UNVERIFIED"
    return 200, hook, []


# ----------------------------------------------------------------------------- containment, policies


def user_by_id(org, uid):
    for u in org.users:
        if u["id"] == uid:
            return u
    raise not_found(uid + " (User)")


def query_flag(request, name):
    """A boolean query parameter: True/False, None when absent (the document checked its form)."""
    value = request.args.get(name)
    return None if value is None else value.lower() == "true"


def handle_containment(request, org, template, method, segs):
    if template == "/api/v1/users/{userId}/sessions":
        user = user_by_id(org, segs[3])
        # Ends the user's Okta sessions; oauthTokens=true also revokes their OIDC/OAuth tokens
        # (default false); forgetDevices is recorded as sent (None: Okta's default applies).
        org.sessions_revoked.setdefault(user["id"], []).append({
            "oauthTokens": bool(query_flag(request, "oauthTokens")),
            "forgetDevices": query_flag(request, "forgetDevices"),
            "at": now_iso(),
        })
        return 204, None, []
    group = find(org.groups, "id", segs[3], segs[3] + " (UserGroup)")
    if template == "/api/v1/groups/{groupId}":
        return 200, group, []
    user = user_by_id(org, segs[5])
    if group.get("type", "OKTA_GROUP") != "OKTA_GROUP":
        # "You only can modify memberships for groups of the OKTA_GROUP type."
        raise OktaError(400, "E0000001", "Api validation failed: group membership",
                        causes=["Only memberships of OKTA_GROUP groups can be modified; %s is %s" % (group["id"], group.get("type"))])
    members = org.members.setdefault(group["id"], [])
    # Idempotent: adding a member or removing a non-member answers 204 and changes nothing.
    if method == "put" and user["id"] not in members:
        members.append(user["id"])
        group["lastMembershipUpdated"] = now_iso()
    elif method == "delete" and user["id"] in members:
        members.remove(user["id"])
        group["lastMembershipUpdated"] = now_iso()
    return 204, None, []


def handle_policies(request, org, template, segs):
    if template == "/api/v1/policies":
        kind = request.args.get("type")
        status = request.args.get("status")
        prefix = request.args.get("q")
        items = [p["policy"] for p in org.policies
                 if p["policy"].get("type") == kind
                 and status in (None, p["policy"].get("status"))
                 and (prefix is None or p["policy"].get("name", "").startswith(prefix))]
        chunk, links = page(request, org, items, "/api/v1/policies")
        return 200, chunk, links
    for p in org.policies:
        if p["policy"]["id"] == segs[3]:
            # In priority order, as Okta lists them (stable for rules without one).
            return 200, sorted(p["rules"], key=lambda r: r.get("priority") if isinstance(r.get("priority"), int) else 1 << 30), []
    raise not_found(segs[3] + " (Policy)")


def parse_time(text):
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise OktaError(400, "E0000001", "Api validation failed: since/until: not an ISO 8601 time: %r" % text)


# The fields a System Log filter may name, each with the values it has in an event (target is a list).
LOG_FILTER_FIELDS = {
    "eventType": lambda e: [e.get("eventType")],
    "uuid": lambda e: [e.get("uuid")],
    "severity": lambda e: [e.get("severity")],
    "outcome.result": lambda e: [(e.get("outcome") or {}).get("result")],
    "outcome.reason": lambda e: [(e.get("outcome") or {}).get("reason")],
    "actor.id": lambda e: [(e.get("actor") or {}).get("id")],
    "actor.alternateId": lambda e: [(e.get("actor") or {}).get("alternateId")],
    "target.id": lambda e: [t.get("id") for t in e.get("target") or []],
    "target.type": lambda e: [t.get("type") for t in e.get("target") or []],
}
FILTER_TOKEN = re.compile(r'\s*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_.]*))')


def log_filter(expr):
    """A predicate for Okta's System Log `filter` (SCIM-style), or None for no filter. The stand-in
    knows `and`, `or` (`and` binds tighter) and parentheses over `FIELD eq "v"` / `FIELD ne "v"`
    for the fields of LOG_FILTER_FIELDS, e.g. what the sentinel sends:
    `(eventType eq "a" or eventType eq "b") and outcome.result ne "SUCCESS"`. Anything else Okta
    may accept but the stand-in does not know: it answers Okta's 400 rather than guess."""
    if expr is None:
        return None

    def refuse(why):
        return OktaError(400, "E0000031", "Invalid search criteria: %s (the stand-in knows and/or/parentheses over "
                         "eq/ne of %s): %r" % (why, ", ".join(LOG_FILTER_FIELDS), expr))

    tokens, pos = [], 0
    while pos < len(expr):
        if not expr[pos:].strip():
            break
        m = FILTER_TOKEN.match(expr, pos)
        if m is None:
            raise refuse("unexpected text at %d" % pos)
        pos = m.end()
        if m.group(1) or m.group(2):
            tokens.append(("punct", m.group(1) or m.group(2)))
        elif m.group(3) is not None:
            tokens.append(("string", re.sub(r"\\(.)", r"\1", m.group(3))))
        else:
            tokens.append(("word", m.group(4)))
    at = [0]

    def peek():
        return tokens[at[0]] if at[0] < len(tokens) else (None, None)

    def take():
        t = peek()
        at[0] += 1
        return t

    def keyword(word):
        kind, value = peek()
        if kind == "word" and value.lower() == word:
            at[0] += 1
            return True
        return False

    def either():
        terms = [both()]
        while keyword("or"):
            terms.append(both())
        return terms[0] if len(terms) == 1 else (lambda e: any(t(e) for t in terms))

    def both():
        factors = [one()]
        while keyword("and"):
            factors.append(one())
        return factors[0] if len(factors) == 1 else (lambda e: all(f(e) for f in factors))

    def one():
        kind, value = take()
        if (kind, value) == ("punct", "("):
            inner = either()
            if take() != ("punct", ")"):
                raise refuse("a parenthesis is not closed")
            return inner
        if kind != "word" or value not in LOG_FILTER_FIELDS:
            raise refuse("unknown field %r" % value)
        values = LOG_FILTER_FIELDS[value]
        op_kind, op = take()
        if op_kind != "word" or op.lower() not in ("eq", "ne"):
            raise refuse("unknown operator %r" % op)
        str_kind, wanted = take()
        if str_kind != "string":
            raise refuse("%s %s needs a quoted value" % (value, op))
        if op.lower() == "eq":
            return lambda e: wanted in values(e)
        return lambda e: wanted not in values(e)

    predicate = either()
    if at[0] != len(tokens):
        raise refuse("unexpected %r" % (peek()[1],))
    return predicate


def list_logs(request, org):
    """GET /api/v1/logs: a bounded query (since <= published < until), filtered by event type,
    `limit` per page, the next page behind `after` in a Link header, as Okta pages it."""
    if org.logs_rate_limited > 0:
        org.logs_rate_limited -= 1
        reset = int(time.time()) + 1
        raise OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.",
                        {"X-Rate-Limit-Limit": "60", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(reset)})
    since = parse_time(request.args["since"]) if "since" in request.args else None
    until = parse_time(request.args["until"]) if "until" in request.args else None
    matches = log_filter(request.args.get("filter"))

    def wanted(e):
        if matches is not None and not matches(e):
            return False
        published = e.get("published")
        if published is None:
            return True  # an entry without `published` (malformed) is listed whatever the window
        t = parse_time(published)
        return (since is None or t >= since) and (until is None or t < until)

    events = [e for e in org.logs if wanted(e)]
    # Okta sorts by `published` (ASCENDING unless sortOrder says DESCENDING); stable for equal times.
    events.sort(key=lambda e: e.get("published") or "", reverse=request.args.get("sortOrder") == "DESCENDING")
    limit = min(int(request.args.get("limit", 100)), org.log_page_size)
    start = int(request.args.get("after", "0"))
    chunk = events[start:start + limit]
    base = request.host_url.rstrip("/") + "/api/v1/logs"
    args = {k: v for k, v in request.args.items()}
    links = ['<%s?%s>; rel="self"' % (base, urlencode(args))]
    if start + limit < len(events):
        links.append('<%s?%s>; rel="next"' % (base, urlencode(dict(args, after=str(start + limit)))))
    return 200, chunk, links


def handle(request, org, template, method, base):
    body = json.loads(request.get_data() or b"null") if request.get_data() else None
    segs = request.path.strip("/").split("/")
    if template == "/api/v1/inlineHooks":
        if method == "get":
            kind = request.args.get("type")
            return 200, [hook_public(h) for h in org.hooks if kind in (None, h.get("type"))], []
        hook = json.loads(json.dumps(body))
        hook.update(id=new_id("cal"), status="ACTIVE", created=now_iso(), lastUpdated=now_iso(), version="1.0.0")
        secret = hook.get("channel", {}).get("config", {}).get("authScheme", {}).get("value")
        org.hooks.append(hook)
        org.hook_secrets[hook["id"]] = secret
        hook["_links"] = hook_links(hook["id"], base)
        return 200, hook_public(hook), []
    if template.startswith("/api/v1/inlineHooks/{inlineHookId}"):
        hook = find(org.hooks, "id", segs[3], segs[3] + " (InlineHook)")
        if template.endswith("/execute"):
            answer = call_hook(hook, org.hook_secrets.get(hook["id"]), body)
            return 200, answer, []
        if template.endswith("/lifecycle/activate"):
            hook.update(status="ACTIVE", lastUpdated=now_iso())
            return 200, hook_public(hook), []
        if method == "put":
            hook["name"] = body.get("name", hook["name"])
            hook["channel"] = body["channel"]
            hook["lastUpdated"] = now_iso()
            org.hook_secrets[hook["id"]] = body["channel"].get("config", {}).get("authScheme", {}).get("value")
        return 200, hook_public(hook), []
    if template == "/api/v1/authorizationServers":
        chunk, links = page(request, org, [e["server"] for e in org.servers], "/api/v1/authorizationServers")
        return 200, chunk, links
    if template.startswith("/api/v1/authorizationServers/{authServerId}/policies"):
        entry = None
        for e in org.servers:
            if e["server"]["id"] == segs[3]:
                entry = e
        if entry is None:
            raise not_found(segs[3] + " (AuthorizationServer)")
        if template.endswith("/policies"):
            return 200, [p["policy"] for p in entry["policies"]], []
        pol = None
        for p in entry["policies"]:
            if p["policy"]["id"] == segs[5]:
                pol = p
        if pol is None:
            raise not_found(segs[5] + " (Policy)")
        if template.endswith("/rules"):
            return 200, pol["rules"], []
        rule = find(pol["rules"], "id", segs[7], segs[7] + " (PolicyRule)")
        if method == "put":
            apply_put(rule, body, keep=("id", "created", "_links"))
        return 200, rule, []
    if template == "/api/v1/apps":
        chunk, links = page(request, org, org.apps, "/api/v1/apps")
        return 200, chunk, links
    if template == "/api/v1/apps/{appId}":
        app = find(org.apps, "id", segs[3], segs[3] + " (AppInstance)")
        if method == "put":
            apply_put(app, body, keep=("id", "name", "created", "status", "_links", "features"))
        return 200, app, []
    if template == "/api/v1/logs":
        return list_logs(request, org)
    if template.startswith("/api/v1/eventHooks"):
        return handle_event_hooks(request, org, template, method, base, body, segs)
    if template == "/api/v1/users/{userId}/sessions" or template.startswith("/api/v1/groups/"):
        return handle_containment(request, org, template, method, segs)
    if template.startswith("/api/v1/policies"):
        return handle_policies(request, org, template, segs)
    if template == "/api/v1/users/{id}/groups":
        # The user's groups, as Okta lists them (UserGroup objects); by id or login.
        user = next((u for u in org.users if segs[3] in (u["id"], u["profile"]["login"])), None)
        if user is None:
            raise not_found(segs[3] + " (User)")
        items = [g for g in org.groups if user["id"] in org.members.get(g["id"], [])]
        chunk, links = page(request, org, items, request.path)
        return 200, chunk, links
    if template == "/api/v1/users/{id}":
        key = segs[3]
        for u in org.users:
            if u["id"] == key or u["profile"]["login"] == key:
                return 200, u, []
        raise not_found(key + " (User)")
    raise not_found(request.path)


def authenticate(request, operation):
    """The org a request acts on, or an OktaError (401 bad token, 403 missing scope)."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("SSWS "):
        oid = TOKENS.get(auth[5:])
        if oid is None:
            raise OktaError(401, "E0000011", "Invalid token provided")
        return ORGS[oid]
    if auth.startswith("Bearer "):
        entry = ACCESS_TOKENS.get(auth[7:])
        if entry is None:
            raise OktaError(401, "E0000011", "Invalid token provided")
        oid, scopes = entry
        needed = [s for req in operation.get("security", []) for s in req.get("oauth2", [])]
        if needed and not set(needed) & set(scopes):
            raise OktaError(403, "E0000006", "You do not have permission to perform the requested action",
                            {"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="%s"' % " ".join(needed)})
        return ORGS[oid]
    raise OktaError(401, "E0000011", "Invalid token provided")


def token_endpoint(request):
    """Org authorization server, client credentials grant with a private_key_jwt assertion."""
    import jwt  # PyJWT, with cryptography for RS256

    form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}

    def fail(error, description):
        return Response(json.dumps({"error": error, "error_description": description}), status=400 if error != "invalid_client" else 401, content_type="application/json")

    if form.get("grant_type") != "client_credentials":
        return fail("unsupported_grant_type", "grant_type must be client_credentials")
    if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
        return fail("invalid_client", "client_assertion_type missing")
    assertion = form.get("client_assertion", "")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        oid, public_key = CLIENTS[unverified["iss"]]
        claims = jwt.decode(assertion, public_key, algorithms=["RS256"], audience=request.base_url,
                            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]})
        if claims["sub"] != claims["iss"]:
            raise ValueError("sub != iss")
    except Exception as e:  # noqa: BLE001 - every failure is the same answer to the client
        return fail("invalid_client", "The client_assertion token is invalid (%s)." % type(e).__name__)
    scopes = form.get("scope", "").split()
    known = SPEC_DOC["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]["scopes"]
    unknown = [s for s in scopes if s not in known]
    if not scopes or unknown:
        return fail("invalid_scope", "The following scopes are not allowed: %s" % " ".join(unknown))
    token = "at." + secrets.token_urlsafe(24)
    ACCESS_TOKENS[token] = (oid, scopes)
    return Response(json.dumps({"token_type": "Bearer", "expires_in": 3600, "access_token": token, "scope": " ".join(scopes)}),
                    content_type="application/json")


def seed_org(request):
    return Response(json.dumps(add_org(json.loads(request.get_data() or b"{}"))), content_type="application/json")


def add_org(seed):
    oid = new_id("org")
    org = Org(oid, seed)
    token = seed.get("token") or "00" + secrets.token_urlsafe(30)
    out = {"org": oid, "token": token}
    with LOCK:
        ORGS[oid] = org
        TOKENS[token] = oid
    if seed.get("oauth"):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        client_id = "0oa" + secrets.token_hex(8)
        CLIENTS[client_id] = (oid, key.public_key())
        out["clientId"] = client_id
        out["privateKeyPem"] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()).decode()
    return out


def check_log_events(events, where):
    """Why `events` are not LogEvents Okta could list or deliver: the document's LogEvent schema,
    and the uuid, published and eventType every event has."""
    if not isinstance(events, list) or not events:
        return ["%s: `events` must be a non-empty list of LogEvents" % where]
    errors = []
    for i, e in enumerate(events):
        errs = schema_errors("LogEvent", e, False)
        if isinstance(e, dict):
            errs += ["LogEvent at (root): %r is missing (every event Okta sends has it)" % k
                     for k in ("uuid", "published", "eventType") if not isinstance(e.get(k), str)]
        errors += ["%s: event %d: %s" % (where, i, x) for x in errs]
    return errors


def delivery_failure_event(hook, entry, reason):
    """The System Log's record of a failed delivery: `event_hook.delivery` ("Triggered when an
    event hook delivery fails", Okta's event type catalog), targeting the EventHook."""
    return {
        "uuid": str(uuid.uuid4()),
        "published": now_iso(),
        "eventType": "event_hook.delivery",
        "version": "0",
        "severity": "WARN",
        "displayMessage": "Event hook delivery failed",
        "actor": dict(SYSTEM_ACTOR),
        "outcome": {"result": "FAILURE", "reason": reason[:255]},
        "target": [{"id": hook["id"], "type": "EventHook", "alternateId": hook["channel"]["config"]["uri"],
                    "displayName": hook.get("name", hook["id"])}],
        "transaction": {"type": "JOB", "id": "tx" + secrets.token_hex(10), "detail": {}},
        "debugContext": {"debugData": {"eventHookId": hook["id"], "eventId": entry["eventId"],
                                       "eventUuids": ",".join(entry["events"]), "attempts": str(len(entry["attempts"]))}},
    }


def failure_reason(answer):
    if answer.get("error") == "timeout":
        return "Read timed out after %g seconds" % answer.get("timeout", HOOK_TIMEOUT)
    if "error" in answer:
        return "Connection failed: " + answer["error"]
    return "The endpoint answered HTTP %d" % answer["status"]


def control_events(request, org):
    """POST /__control/orgs/{org}/events {"events": [LogEvent, ...]}: appends them to the System Log."""
    events = json.loads(request.get_data() or b"{}").get("events")
    with LOCK:
        errors = check_log_events(events, "POST /__control/orgs/%s/events" % org.id)
        if errors:
            org.violations.extend(errors)
            return 400, {"errors": errors}
        org.logs.extend(events)
        return 200, {"appended": len(events)}


def control_deliver(request, org):
    """POST /__control/orgs/{org}/deliver {"events": [LogEvent, ...][, "timeoutSeconds": 3]}: the
    events happen in the org (the System Log lists them, once per uuid) and Okta delivers them:
    one POST per ACTIVE and VERIFIED event hook subscribed to any of their types, carrying those
    events; a timeout, a failed connection or a 5xx is retried once, a 4xx is not; a delivery
    that fails both ways is logged as `event_hook.delivery` FAILURE. Answers per event hook."""
    payload = json.loads(request.get_data() or b"{}")
    events = payload.get("events")
    timeout = float(payload.get("timeoutSeconds", HOOK_TIMEOUT))
    base = request.host_url.rstrip("/")
    plans, report = [], []
    with LOCK:
        errors = check_log_events(events, "POST /__control/orgs/%s/deliver" % org.id)
        if errors:
            org.violations.extend(errors)
            return 400, {"errors": errors}
        known = {e.get("uuid") for e in org.logs}
        for e in events:
            if e["uuid"] not in known:
                org.logs.append(e)
                known.add(e["uuid"])
        for hook in org.event_hooks:
            subscribed = set((hook.get("events") or {}).get("items") or [])
            mine = [e for e in events if e["eventType"] in subscribed]
            entry = {"eventHookId": hook["id"], "name": hook.get("name")}
            report.append(entry)
            if not mine:
                entry["skipped"] = "subscribed to none of these event types"
            elif hook.get("status") != "ACTIVE":
                entry["skipped"] = "INACTIVE"
            elif hook.get("verificationStatus") != "VERIFIED":
                entry["skipped"] = "UNVERIFIED"
            else:
                snapshot = json.loads(json.dumps(hook))
                envelope = {
                    "eventType": "com.okta.event_hook",
                    "eventTypeVersion": "1.0",
                    "cloudEventsVersion": "0.1",
                    "source": "%s/api/v1/eventHooks/%s" % (base, hook["id"]),
                    "eventId": str(uuid.uuid4()),
                    "eventTime": now_iso(),
                    "contentType": "application/json",
                    "data": {"events": json.loads(json.dumps(mine))},
                }
                entry.update(eventId=envelope["eventId"], events=[e["uuid"] for e in mine])
                plans.append((entry, snapshot, hook_headers(snapshot, org.event_hook_secrets.get(hook["id"])), envelope))
    for entry, snapshot, headers, envelope in plans:
        body = json.dumps(envelope).encode()
        attempts = []
        for _ in range(2):
            answer = http_call(snapshot["channel"]["config"]["uri"], "POST", headers, body, timeout)
            answer.pop("body", None)
            if answer.get("error") == "timeout":
                answer["timeout"] = timeout
            attempts.append(answer)
            if "status" in answer and answer["status"] < 500 and not 300 <= answer["status"] < 400:
                break  # delivered (2xx), or refused (4xx: Okta does not retry those)
        entry["attempts"] = attempts
        entry["delivered"] = 200 <= attempts[-1].get("status", 0) < 300
    with LOCK:
        for entry, snapshot, _, _ in plans:
            org.deliveries.append(entry)
            if not entry["delivered"]:
                org.logs.append(delivery_failure_event(snapshot, entry, failure_reason(entry["attempts"][-1])))
    return 200, {"deliveries": report}


def control(request):
    """The control endpoints (not Okta's), or None for any other path."""
    path = request.path
    if path == "/__control/orgs" and request.method == "POST":
        return seed_org(request)
    if path == "/__control/violations":
        return Response(json.dumps(GLOBAL_VIOLATIONS), content_type="application/json")
    if not path.startswith("/__control/orgs/"):
        return None
    parts = path.split("/")  # "", "__control", "orgs", org[, action]
    org = ORGS.get(parts[3])
    if org is None or len(parts) > 5:
        return Response("no such org", status=404)
    action = parts[4] if len(parts) == 5 else None
    if action is None:
        with LOCK:
            return Response(json.dumps(org.state()), content_type="application/json")
    if request.method != "POST" or action not in ("faults", "deliver", "events"):
        return Response("no such control endpoint", status=404)
    if action == "faults":
        with LOCK:
            org.faults = json.loads(request.get_data() or b"[]")
        return Response("[]", content_type="application/json")
    status, body = (control_deliver if action == "deliver" else control_events)(request, org)
    return Response(json.dumps(body), status=status, content_type="application/json")


def make_app(validator):
    def respond(request, org, violations, template, operation, hook_type, result):
        """The response to an API request (called with the lock): logged, checked against the document."""
        links, extra_headers = [], {}
        if isinstance(result, OktaError):
            status, body, extra_headers = result.status, result.body(), result.headers
        else:
            status, body, links = result
        if org is not None:
            org.log.append("%s %s -> %d" % (request.method, request.full_path, status))
        if status == 204:
            response = Response(status=204)
            response.headers.pop("Content-Type", None)
        else:
            response = Response(json.dumps(body), status=status, content_type="application/json")
        for link in links:
            response.headers.add("Link", link)
        for k, v in extra_headers.items():
            response.headers[k] = v
        declared = operation.get("responses", {})
        for e in validator.check_response(request, response, template, hook_type, declared):
            violations.append("response %d to %s %s: %s" % (status, request.method, request.full_path, e))
        return response

    def app(environ, start_response):
        request = Request(environ)
        response = control(request)
        if response is not None:
            return response(environ, start_response)
        if request.path == "/oauth2/v1/token" and request.method == "POST":
            return token_endpoint(request)(environ, start_response)

        base = request.host_url.rstrip("/")
        found = validator.operation(request)
        if found is None:
            GLOBAL_VIOLATIONS.append("%s %s: no such operation in Okta's API document (or not in the subset)" % (request.method, request.full_path))
            err = OktaError(404, "E0000022", "The endpoint does not support the provided HTTP method")
            return Response(json.dumps(err.body()), status=404, content_type="application/json")(environ, start_response)
        template, method, operation = found
        violations = GLOBAL_VIOLATIONS
        org = None
        hook_type = None
        with LOCK:
            try:
                org = authenticate(request, operation)
                violations = org.violations
                org.requests += 1
                n = org.requests
                if template.startswith("/api/v1/inlineHooks/{inlineHookId}"):
                    hid = request.path.strip("/").split("/")[3]
                    hook_type = next((h.get("type") for h in org.hooks if h["id"] == hid), None)
                errors = validator.check_request(request, template, hook_type)
                for e in errors:
                    violations.append("request %s %s: %s" % (request.method, request.full_path, e))
                if errors:
                    raise OktaError(400, "E0000001", "Api validation failed: " + errors[0][:200])
                fault = injected_fault(org, request)
                if fault is not None:
                    raise fault
                if n in org.rate_limit_at:
                    reset = int(time.time()) + 1
                    raise OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.",
                                    {"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(reset)})
                result = handle(request, org, template, method, base)
            except OktaError as e:
                result = e
            if not isinstance(result, Outbound):
                response = respond(request, org, violations, template, operation, hook_type, result)
        if isinstance(result, Outbound):
            outcome = result.call()  # without the lock: the called service may call the stand-in back
            with LOCK:
                try:
                    result = result.finish(outcome)
                except OktaError as e:
                    result = e
                response = respond(request, org, violations, template, operation, hook_type, result)
        return response(environ, start_response)

    return app


def main():
    """server.py [PORT] [--seed ORG.json] [--detach]: --seed adds one org (its "token" is the API
    token); --detach keeps running when stdin closes (else it exits with its parent)."""
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    args = sys.argv[1:]
    # --detach: keep running when stdin closes (`make admin-stand-in` runs it in the background).
    detach = "--detach" in args
    args = [a for a in args if a != "--detach"]
    seed_file = None
    if "--seed" in args:
        i = args.index("--seed")
        seed_file = args[i + 1]
        del args[i:i + 2]
    port = int(args[0]) if args else 0
    server = make_server("127.0.0.1", port, None, threaded=True)
    base = "http://127.0.0.1:%d" % server.server_port
    server.app = make_app(Validator(base))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("LISTENING %d" % server.server_port, flush=True)
    if seed_file:
        with open(seed_file, encoding="utf-8") as f:
            org = add_org(json.load(f))
        print("seeded org %s: OKTA_ORG_URL=%s OKTA_API_TOKEN=%s" % (org["org"], base, org["token"]), flush=True)
    if detach:
        threading.Event().wait()
    # Exit with the parent: the tests hold our stdin open for as long as they run.
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
