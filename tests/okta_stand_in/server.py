#!/usr/bin/env python3
"""A stand-in for Okta's Management API, for nl3-okta-admin's tests.

Keeps orgs in memory (inline hooks, authorization servers, access policies, rules, apps, users,
System Log events: seed "logs", "logPageSize", "logsRateLimited") and checks every request it receives and every response it sends against Okta's published
OpenAPI document (the subset in tests/fixtures/okta/management-openapi-subset.json, extracted by
extract_subset.py). Anything the document does not allow is recorded as a violation, which the
tests read and fail on.

One server serves many independent orgs at once: each org has its own API token (and OAuth
service app), so parallel tests never see each other's state. Control endpoints (not Okta's):

  POST /__control/orgs                   seed an org; answers {org, token, clientId, privateKeyPem}
  GET  /__control/orgs/{org}             the org's state, its request log and its violations
  GET  /__control/violations             violations of requests no org could be named for
  POST /__control/orgs/{org}/faults      Okta refusing: a list of {method, pathContains, status
                                         [, errorCode, errorSummary, times]}; each request that
                                         matches one is answered with that error (`times` of them,
                                         or all) instead of being carried out. [] clears them.

Started by the tests as a child process: `server.py` prints `LISTENING <port>` once ready and
exits when its standard input closes (the test process ended).

Where the document is ambiguous, the stand-in is explicit: the execute operation's request and
response are `oneOf` lists of loose schemas (Okta's own samples match several branches), so
they are checked against the branch of the hook's type (TokenRequest / SAMLPayloadExecute and
TokenHookResponse / SAMLHookResponse). Responses with a status the operation does not list
(401 for a bad token, 429 where undeclared) are checked against the document's `Error` schema.
"""
import json
import os
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
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

    def state(self):
        return {
            "hooks": self.hooks,
            "hookSecrets": self.hook_secrets,
            "authorizationServers": [
                dict(e["server"], policies=[dict(p["policy"], rules=p["rules"]) for p in e["policies"]])
                for e in self.servers
            ],
            "apps": self.apps,
            "requests": self.log,
            "violations": self.violations,
        }


class OktaError(Exception):
    def __init__(self, status, code, summary, headers=None):
        self.status, self.code, self.summary, self.headers = status, code, summary, headers or {}

    def body(self):
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": "oae" + secrets.token_hex(8),
            "errorCauses": [],
        }


def injected_fault(org, request):
    """The error a matching fault answers with (see /__control/orgs/{org}/faults), or None."""
    for fault in org.faults:
        if fault["method"] == request.method and fault["pathContains"] in request.path and fault.get("times", 1) > 0:
            if "times" in fault:
                fault["times"] -= 1
            status = int(fault["status"])
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


def make_app(validator):
    def app(environ, start_response):
        request = Request(environ)
        path = request.path
        if path == "/__control/orgs" and request.method == "POST":
            return seed_org(request)(environ, start_response)
        if path.startswith("/__control/orgs/") and path.endswith("/faults") and request.method == "POST":
            org = ORGS.get(path.split("/")[3])
            if org is None:
                return Response("no such org", status=404)(environ, start_response)
            with LOCK:
                org.faults = json.loads(request.get_data() or b"[]")
            return Response("[]", content_type="application/json")(environ, start_response)
        if path.startswith("/__control/orgs/"):
            org = ORGS.get(path.rsplit("/", 1)[1])
            if org is None:
                return Response("no such org", status=404)(environ, start_response)
            with LOCK:
                return Response(json.dumps(org.state()), content_type="application/json")(environ, start_response)
        if path == "/__control/violations":
            return Response(json.dumps(GLOBAL_VIOLATIONS), content_type="application/json")(environ, start_response)
        if path == "/oauth2/v1/token" and request.method == "POST":
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
        links = []
        extra_headers = {}
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
                status, body, links = handle(request, org, template, method, base)
            except OktaError as e:
                status, body, extra_headers = e.status, e.body(), e.headers
            if org is not None:
                org.log.append("%s %s -> %d" % (request.method, request.full_path, status))
            response = Response(json.dumps(body), status=status, content_type="application/json")
            for link in links:
                response.headers.add("Link", link)
            for k, v in extra_headers.items():
                response.headers[k] = v
            declared = set(operation.get("responses", {}).keys())
            for e in validator.check_response(request, response, template, hook_type, declared):
                violations.append("response %d to %s %s: %s" % (status, request.method, request.full_path, e))
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
