#!/usr/bin/env python3
"""Checks the layering (ARCHITECTURE.md): in each layered crate, every `crate::` import points to
a module of a lower layer (or a leaf importing nothing), and the module graph has no cycle; and
the crates depend on each other only downwards (the admin crate never on the hook crate; the
shared crate and the test-support crate on neither). Prints the graphs and exits non-zero on a
violation. Run by `make lint`."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent

# Per crate (its sources' directory): the layer of each top-level module. Imports may only point
# to a strictly lower layer.
CRATES = {
    # The hook (nl3-okta-hook).
    "src": {
        "config": 0,
        "oauth": 1, "okta": 1,
        "auth": 2,
        "decision": 3,
        "hook": 4, "logging": 4, "metrics": 4,
        "app": 5,
    },
    # The Okta side (nl3-okta-admin): the CLI and the Okta-side functions.
    "admin/src": {
        "error": 0, "logging": 0, "model": 0,
        "audit": 1, "requests": 1, "settings": 1,
        "emf": 2, "okta": 2, "queue": 2, "secrets": 2,
        "org": 3, "syslog": 3,
        "guard": 4, "preview": 4, "rotation": 4, "setup": 4,
        "sentinel": 5,
        "function": 6, "output": 6,
        "cli": 7,
    },
    # What the hook shares with the Okta side (nl3-shared), below the hook and the admin crate.
    "nl3/src": {
        "api_key": 0, "cache": 0, "http_client": 0, "lenient": 0, "log_cap": 0, "settings": 0,
        "check": 1, "event": 1, "geo": 1, "secrets": 1,
        "ask": 2, "secret_source": 2,
        "header_secret": 3,
    },
}

uses = re.compile(r"\bcrate::(?:\{([^}]*)\}|([a-z_0-9]+))")
errors = []


def check_crate(src, layers):
    """The import graph of one crate's modules, with its violations added to `errors`."""
    graph = {m: set() for m in layers}
    for path in sorted(src.rglob("*.rs")):
        if path.name in ("lib.rs", "main.rs") or path.parent.name == "bin":
            continue
        shown = path.relative_to(root)
        module = path.relative_to(src).with_suffix("").parts[0]
        if module not in layers:
            errors.append(f"{shown}: module {module!r} has no layer in .ci/layers.py")
            continue
        for group, single in uses.findall(path.read_text()):
            names = [single] if single else [n.strip().split("::")[0] for n in group.split(",")]
            for target in filter(None, names):
                if target in ("self", "super") or target == module:
                    continue
                graph[module].add(target)
                if target not in layers:
                    errors.append(f"{shown}: imports unknown module {target!r}")
                elif layers[target] >= layers[module]:
                    errors.append(
                        f"{shown}: {module} (layer {layers[module]}) imports "
                        f"{target} (layer {layers[target]}): imports must point down"
                    )

    # A cycle would need an import that does not point down, but check directly all the same.
    state = {}

    def visit(m, stack):
        state[m] = "open"
        for t in sorted(graph.get(m, ())):
            if state.get(t) == "open":
                errors.append(f"{src.relative_to(root)}: cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    return graph


def must_not_name(crate_dir, what, packages, libs):
    """`crate_dir`'s manifest must not depend on `packages`, nor its sources name `libs`."""
    manifest = (root / crate_dir / "Cargo.toml").read_text()
    for package in packages:
        if re.search(rf"^\s*{re.escape(package)}\s*=", manifest, re.M):
            errors.append(f"{crate_dir}/Cargo.toml: {what} must not depend on {package}")
    for path in sorted((root / crate_dir).rglob("*.rs")):
        text = path.read_text()
        for lib in libs:
            if lib in text:
                errors.append(f"{path.relative_to(root)}: {what} names {lib}")


for src_dir, layers in CRATES.items():
    graph = check_crate(root / src_dir, layers)
    print(f"{src_dir}/")
    for layer in sorted(set(layers.values())):
        for m in sorted(k for k, v in layers.items() if v == layer):
            print(f"  layer {layer}  {m:<14} -> {', '.join(sorted(graph[m])) or '(nothing)'}")

# The admin crate (admin/) is built without the hook crate: it must not depend on it.
must_not_name("admin", "the admin crate", ["nl3-okta-hook"], ["nl3_okta_hook"])
# The shared crate (nl3/) sits below both: it depends on neither.
must_not_name(
    "nl3", "the shared crate",
    ["nl3-okta-hook", "nl3-okta-admin"], ["nl3_okta_hook", "nl3_okta_admin"],
)
# The test-support crate (testkit/) serves both sides' tests: it depends on neither.
must_not_name(
    "testkit", "the test-support crate",
    ["nl3-okta-hook", "nl3-okta-admin"], ["nl3_okta_hook", "nl3_okta_admin"],
)

if errors:
    print("\n".join(errors))
    sys.exit(1)
print("layers: every import points down; no cycle")
