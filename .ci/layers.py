#!/usr/bin/env python3
"""Checks the layering (ARCHITECTURE.md) of each crate: every `crate::` import points to a
module of a lower layer (or a leaf importing nothing), and the module graph has no cycle; and
the crates' dependencies point one way. Prints the graphs and exits non-zero on a violation.
Run by `make lint`."""
import pathlib
import re
import sys

# Per crate, the layer of each top-level module: imports may only point to a strictly lower layer.
HOOK = {
    "api_key": 0, "cache": 0, "config": 0, "http_client": 0, "lenient": 0,
    "event": 1, "okta": 1,
    "geo": 1, "oauth": 1, "secrets": 1,
    "auth": 2, "nl3": 2,
    "decision": 3,
    "hook": 4, "logging": 4, "metrics": 4,
    "app": 5,
}
ADMIN = {
    "error": 0, "logging": 0, "model": 0,
    "audit": 1, "requests": 1, "settings": 1,
    "okta": 2, "secrets": 2,
    "org": 3, "syslog": 3,
    "preview": 4, "rotation": 4, "setup": 4,
    "sentinel": 5,
    "function": 6, "output": 6,
    "cli": 7,
}
CRATES = {"src": HOOK, "admin/src": ADMIN}

root = pathlib.Path(__file__).resolve().parent.parent
uses = re.compile(r"\bcrate::(?:\{([^}]*)\}|([a-z_0-9]+))")
errors = []


def check(src_dir, layers):
    """The import graph of one crate's modules, checked against `layers`."""
    src = root / src_dir
    graph = {m: set() for m in layers}
    for path in sorted(src.rglob("*.rs")):
        rel = path.relative_to(src)
        if path.name in ("lib.rs", "main.rs") or rel.parts[0] == "bin":
            continue
        module = rel.with_suffix("").parts[0]
        shown = f"{src_dir}/{rel}"
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
                errors.append(f"{src_dir}: cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    print(f"{src_dir}/")
    for layer in sorted(set(layers.values())):
        for m in sorted(k for k, v in layers.items() if v == layer):
            print(f"  layer {layer}  {m:<12} -> {', '.join(sorted(graph[m])) or '(nothing)'}")


for src_dir, layers in CRATES.items():
    check(src_dir, layers)

# The admin crate (admin/) is built without the hook crate: it must not depend on it.
admin_manifest = (root / "admin" / "Cargo.toml").read_text()
if re.search(r"^\s*nl3-okta-hook\s*=", admin_manifest, re.M):
    errors.append("admin/Cargo.toml: the admin crate must not depend on the hook crate")
for path in sorted((root / "admin").rglob("*.rs")):
    if "nl3_okta_hook" in path.read_text():
        errors.append(f"{path.relative_to(root)}: the admin crate names the hook crate")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print("layers: every import points down; no cycle; the admin crate does not use the hook's")
