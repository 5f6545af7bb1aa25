#!/usr/bin/env python3
"""Checks the layering (ARCHITECTURE.md): every `crate::` import in src/ points to a
module of a lower layer (or a leaf importing nothing), and the module graph has no cycle.
Prints the graph and exits non-zero on a violation. Run by `make lint`."""
import pathlib
import re
import sys

# Layer of each top-level module: imports may only point to a strictly lower layer.
LAYERS = {
    "api_key": 0, "cache": 0, "config": 0, "http_client": 0, "lenient": 0,
    "event": 1, "okta": 1,
    "geo": 1, "oauth": 1, "secrets": 1,
    "auth": 2, "nl3": 2,
    "decision": 3,
    "hook": 4, "logging": 4, "metrics": 4,
    "app": 5,
}

root = pathlib.Path(__file__).resolve().parent.parent
src = root / "src"
uses = re.compile(r"\bcrate::(?:\{([^}]*)\}|([a-z_0-9]+))")


def module_of(path):
    rel = path.relative_to(src).with_suffix("")
    return rel.parts[0]


graph = {m: set() for m in LAYERS}
errors = []
for path in sorted(src.rglob("*.rs")):
    if path.name in ("lib.rs", "main.rs") or path.parent.name == "bin":
        continue
    module = module_of(path)
    if module not in LAYERS:
        errors.append(f"{path.relative_to(src)}: module {module!r} has no layer in .ci/layers.py")
        continue
    text = path.read_text()
    for group, single in uses.findall(text):
        names = [single] if single else [n.strip().split("::")[0] for n in group.split(",")]
        for target in filter(None, names):
            if target in ("self", "super") or target == module:
                continue
            graph[module].add(target)
            if target not in LAYERS:
                errors.append(f"{path.relative_to(src)}: imports unknown module {target!r}")
            elif LAYERS[target] >= LAYERS[module]:
                errors.append(
                    f"{path.relative_to(src)}: {module} (layer {LAYERS[module]}) imports "
                    f"{target} (layer {LAYERS[target]}): imports must point down"
                )

# A cycle would need an import that does not point down, but check directly all the same.
state = {}


def visit(m, stack):
    state[m] = "open"
    for t in sorted(graph.get(m, ())):
        if state.get(t) == "open":
            errors.append("cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
        elif t not in state:
            visit(t, stack + [t])
    state[m] = "done"


for m in sorted(graph):
    if m not in state:
        visit(m, [m])

# The admin crate (admin/) is built without the hook crate: it must not depend on it.
admin_manifest = (root / "admin" / "Cargo.toml").read_text()
if re.search(r"^\s*nl3-okta-hook\s*=", admin_manifest, re.M):
    errors.append("admin/Cargo.toml: the admin crate must not depend on the hook crate")
for path in sorted((root / "admin").rglob("*.rs")):
    if "nl3_okta_hook" in path.read_text():
        errors.append(f"{path.relative_to(root)}: the admin crate names the hook crate")

for layer in sorted(set(LAYERS.values())):
    for m in sorted(k for k, v in LAYERS.items() if v == layer):
        print(f"  layer {layer}  {m:<12} -> {', '.join(sorted(graph[m])) or '(nothing)'}")
if errors:
    print("\n".join(errors))
    sys.exit(1)
print("layers: every import points down; no cycle")
