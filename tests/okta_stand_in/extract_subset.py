#!/usr/bin/env python3
"""Extracts the part of Okta's Management API OpenAPI document that `nl3-okta-admin` uses.

Reads ../shared/okta/okta-management-openapi.yaml (or the path given as the first argument) and
writes tests/fixtures/okta/management-openapi-subset.json: the operations listed in OPERATIONS,
their paths' shared parameters, and every component they reference, transitively, unchanged.
`info`, `openapi` and `components.securitySchemes` are kept; nothing is edited. JSON rather than
YAML so the stand-in loads it in milliseconds (JSON is YAML, so any OpenAPI tool reads it).

    python3 tests/okta_stand_in/extract_subset.py [path/to/okta-management-openapi.yaml]
"""
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SOURCE = os.path.join(REPO, "..", "shared", "okta", "okta-management-openapi.yaml")
TARGET = os.path.join(REPO, "tests", "fixtures", "okta", "management-openapi-subset.json")

# (path, method): every call nl3-okta-admin makes to the Management API.
OPERATIONS = [
    ("/api/v1/inlineHooks", "get"),
    ("/api/v1/inlineHooks", "post"),
    ("/api/v1/inlineHooks/{inlineHookId}", "get"),
    ("/api/v1/inlineHooks/{inlineHookId}", "put"),
    ("/api/v1/inlineHooks/{inlineHookId}/lifecycle/activate", "post"),
    ("/api/v1/inlineHooks/{inlineHookId}/execute", "post"),
    ("/api/v1/authorizationServers", "get"),
    ("/api/v1/authorizationServers/{authServerId}/policies", "get"),
    ("/api/v1/authorizationServers/{authServerId}/policies/{policyId}/rules", "get"),
    ("/api/v1/authorizationServers/{authServerId}/policies/{policyId}/rules/{ruleId}", "get"),
    ("/api/v1/authorizationServers/{authServerId}/policies/{policyId}/rules/{ruleId}", "put"),
    ("/api/v1/apps", "get"),
    ("/api/v1/apps/{appId}", "get"),
    ("/api/v1/apps/{appId}", "put"),
    ("/api/v1/users/{id}", "get"),
    # The guard: is a user whose sign-in Okta refused in the quarantine group?
    ("/api/v1/users/{id}/groups", "get"),
    # The sentinel and `watch`: Okta's System Log (inline hook events, event hook deliveries).
    ("/api/v1/logs", "get"),
    # The after-sign-in guard (CONTRACT.md section 8): the event hook that delivers sign-in events...
    ("/api/v1/eventHooks", "get"),
    ("/api/v1/eventHooks", "post"),
    ("/api/v1/eventHooks/{eventHookId}", "get"),
    ("/api/v1/eventHooks/{eventHookId}", "put"),
    ("/api/v1/eventHooks/{eventHookId}/lifecycle/activate", "post"),
    ("/api/v1/eventHooks/{eventHookId}/lifecycle/deactivate", "post"),
    ("/api/v1/eventHooks/{eventHookId}/lifecycle/verify", "post"),
    # ...containment: end the user's sessions, move them in and out of the quarantine group...
    ("/api/v1/users/{userId}/sessions", "delete"),
    ("/api/v1/groups/{groupId}", "get"),
    ("/api/v1/groups/{groupId}/users/{userId}", "put"),
    ("/api/v1/groups/{groupId}/users/{userId}", "delete"),
    # ...and the audit that a sign-on policy rule denies that group.
    ("/api/v1/policies", "get"),
    ("/api/v1/policies/{policyId}/rules", "get"),
]


def refs(node, found):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for value in node.values():
            refs(value, found)
    elif isinstance(node, list):
        for value in node:
            refs(value, found)


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SOURCE
    with open(source, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    paths = {}
    for path, method in OPERATIONS:
        item = doc["paths"][path]
        out = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        out[method] = item[method]
    components = {"securitySchemes": doc["components"]["securitySchemes"]}
    pending = set()
    refs(paths, pending)
    seen = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = doc["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        refs(value, pending)
    subset = {
        "openapi": doc["openapi"],
        "info": doc["info"],
        "servers": doc["servers"],
        "paths": paths,
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }
    with open(TARGET, "w", encoding="utf-8") as f:
        json.dump(subset, f, indent=1, sort_keys=False)
        f.write("\n")
    counts = {k: len(v) for k, v in subset["components"].items()}
    print(f"{TARGET}: {len(OPERATIONS)} operations, components {counts}")


if __name__ == "__main__":
    main()
