#!/usr/bin/env python3
"""Docs that cannot drift (run by `make test`):

1. every relative link and `#anchor` in README.md and docs/*.md resolves (GitHub's anchors);
2. every setting the code reads (hook, shared crate, admin CLI, rotation function, sentinel) has a row in
   docs/configuration.md's table, and the table names nothing the code no longer reads;
(That every flag of `nl3-okta-admin --help` is documented in docs/admin-cli.md, and that the help
names every variable the CLI reads, is checked by the admin crate's tests, from clap's own
definition of the CLI.) Exits non-zero with one line per problem."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
problems = []
pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def anchors_of(path):
    """GitHub's heading anchors: lowercased, punctuation dropped, spaces to '-', repeats -N."""
    seen, out = {}, set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"`|\*\*|\*|_(?=\W)|(?<=\W)_", "", m.group(1))
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        slug = re.sub(r"[^\w\- ]", "", text.lower(), flags=re.UNICODE).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    for m in re.finditer(r'<a\s+(?:name|id)="([^"]+)"', path.read_text(encoding="utf-8")):
        out.add(m.group(1))
    return out


def links_of(path):
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks hold no links
    text = re.sub(r"`[^`\n]*`", "", text)
    for m in re.finditer(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
        yield m.group(1)


anchor_cache = {}
for page in pages:
    for link in links_of(page):
        if re.match(r"^[a-z]+:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        dest = (page.parent / target).resolve() if target else page
        rel = page.relative_to(root)
        if not dest.exists():
            problems.append(f"{rel}: link to {link!r}: {target} does not exist")
            continue
        if anchor and dest.suffix == ".md":
            anchors = anchor_cache.setdefault(dest, anchors_of(dest))
            if anchor not in anchors:
                problems.append(f"{rel}: link to {link!r}: no heading #{anchor} in {dest.relative_to(root)}")


def code_without_tests(path):
    text = path.read_text(encoding="utf-8")
    cut = text.find("#[cfg(test)]\nmod tests")
    return text if cut < 0 else text[:cut]


# The settings the code reads: environment lookups and the secret's fields.
read = re.compile(
    r'\b(?:get|required|number|bool|var|var_os|env|try_from_env|non_empty|text|fields\.get)\(\s*"([A-Z][A-Z0-9_]{2,})"'
    r'|rename\s*=\s*"([A-Z][A-Z0-9_]{2,})"'
    r'|bool_var\(\s*\w+,\s*"([A-Z][A-Z0-9_]{2,})"'
)
in_code = set()
for source in [s for d in ("src", "admin/src", "nl3/src") for s in sorted((root / d).rglob("*.rs"))]:
    for names in read.findall(code_without_tests(source)):
        in_code.add("".join(names))

config = root / "docs" / "configuration.md"
if not config.exists():
    problems.append("docs/configuration.md is missing (the table of every setting)")
    in_table = set()
else:
    in_table = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]{2,})`", config.read_text(encoding="utf-8"), re.M))
for name in sorted(in_code - in_table):
    problems.append(f"docs/configuration.md: the code reads {name}, the settings table does not list it")
for name in sorted(in_table - in_code):
    problems.append(f"docs/configuration.md: the table lists {name}, which no code reads any more")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"docs: {len(pages)} pages' links resolve; {len(in_code)} settings in the table")
