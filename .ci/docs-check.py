#!/usr/bin/env python3
"""Docs that cannot drift (run by `make test`):

1. every relative link and `#anchor` in README.md and docs/*.md resolves (GitHub's anchors);
2. every setting the code reads (hook, shared crate, admin CLI, rotation function, sentinel) has a
   row in docs/configuration.md's table, and the table names nothing the code no longer reads;
3. every UPPER_CASE variable a shell snippet in them sets for a program (`export NAME=…`,
   `NAME=… command`, `make … NAME=…`) is one that some code reads, and every one it reads
   (`$NAME`) is set earlier in the snippet or read by code: a name that nothing reads in a
   snippet is a setting spelled differently from the code's (OKTA_ORG for OKTA_ORG_URL).

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
    for groups in read.findall(code_without_tests(source)):
        in_code.update(g for g in groups if g)

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

# Every variable in a shell snippet is one the code reads.
SHELL_BLOCKS = {"sh", "bash", "shell", "zsh", "console"}
WELL_KNOWN = {
    "PATH", "HOME", "PWD", "USER", "SHELL", "TMPDIR", "TERM", "LANG", "EDITOR",
    "CARGO_TARGET_DIR", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "RUSTFLAGS", "RUST_LOG",
    "RUST_BACKTRACE", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_PAGER", "HTTPS_PROXY",
    "HTTP_PROXY", "NO_PROXY", "SAM_CLI_TELEMETRY", "DEBIAN_FRONTEND",
}
WELL_KNOWN_PREFIXES = ("CARGO_",)  # cargo reads any CARGO_PROFILE_…, CARGO_TARGET_… and so on
SETTING = re.compile(r"^[A-Z][A-Z0-9_]+$")
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\+?=")


def names_code_reads(settings):
    """Every UPPER_CASE name some code reads: the settings above, the string literals of the Rust
    and Python sources, and what the scripts and the Makefile expand or let the caller set."""
    names = set(settings)
    literal = re.compile(r"[\"']([A-Z][A-Z0-9_]{2,})[\"']")
    expanded = re.compile(r"\$\{?([A-Z][A-Z0-9_]+)|\$\(([A-Z][A-Z0-9_]+)\)|^([A-Z][A-Z0-9_]+)\s*[?:]?=", re.M)
    sources = [p for d in ("src", "admin", "examples", "tests", "benches", "fuzz", "local", ".ci")
               for p in (root / d).rglob("*") if p.is_file() and "target" not in p.parts]
    for path in sources + [root / "Makefile"]:
        if path.name == "docs-check.py" or path.suffix not in ("", ".rs", ".py", ".sh"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix in (".rs", ".py"):
            names.update(literal.findall(text))
        if path.suffix in ("", ".sh", ".py"):
            names.update(n for groups in expanded.findall(text) for n in groups if n)
    return names


def shell_snippets(path):
    """(first line number, logical lines) of each shell code block: continuation lines joined,
    a console block's commands only (its `$ ` lines), `<placeholders>` made one word."""
    lines = path.read_text(encoding="utf-8").splitlines()
    n = 0
    while n < len(lines):
        fence = re.match(r"^\s*```(\w*)\s*$", lines[n])
        n += 1
        if not fence:
            continue
        start, body = n, []
        while n < len(lines) and not re.match(r"^\s*```\s*$", lines[n]):
            body.append(lines[n])
            n += 1
        n += 1
        language = fence.group(1)
        if language not in SHELL_BLOCKS:
            continue
        if language == "console":
            body = [l.strip()[2:] for l in body if l.strip().startswith("$ ")]
        logical, text = [], ""
        for line in body:
            text += line
            if text.endswith("\\"):
                text = text[:-1] + " "
                continue
            logical.append(re.sub(r"<[A-Za-z][^<>]*>", "PLACEHOLDER", text))
            text = ""
        if text:
            logical.append(text)
        yield start, logical


def shell_commands(line):
    """One logical shell line as its simple commands, in order: each one's words (quotes removed)
    and the variables it expands outside single quotes. A comment ends the line."""
    commands, words, word, expands, quote = [], [], None, [], None

    def end_command():
        nonlocal words, expands
        if words or expands:
            commands.append((words, expands))
        words, expands = [], []

    i = 0
    while i < len(line):
        c = line[i]
        if quote == "'":
            quote = None if c == "'" else quote
            word = word if c == "'" else word + c
        elif c == "\\" and i + 1 < len(line):
            word = (word or "") + line[i + 1]
            i += 1
        elif c == "$":
            m = re.match(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", line[i:])
            if m:
                expands.append(m.group(1))
            word = (word or "") + c
        elif quote == '"':
            quote = None if c == '"' else quote
            word = word if c == '"' else word + c
        elif c in "'\"":
            quote, word = c, word or ""
        elif c == "#" and word is None:
            break
        elif c.isspace() or c in ";|&()":
            if word is not None:
                words.append(word)
                word = None
            if c in ";|&()":
                end_command()
        else:
            word = (word or "") + c
        i += 1
    if word is not None:
        words.append(word)
    end_command()
    return commands


def handed_and_local(words):
    """The variables one simple command hands to a program (`export`/`env NAME=…`, `NAME=… cmd`,
    `make … NAME=…`) and those it sets in the shell only (`NAME=…` alone)."""
    names = [m.group(1) if m else None for m in map(ASSIGNMENT.match, words)]
    if words[0] in ("export", "env"):
        return [n or w for n, w in zip(names[1:], words[1:]) if not w.startswith("-")], []
    if words[0] == "make":
        return [n for n in names[1:] if n], []
    lead = names[: next((k for k, n in enumerate(names) if n is None), len(names))]
    return (lead, []) if len(lead) < len(words) else ([], lead)


def snippet_variables(logical, unknown):
    """What is wrong with one snippet's variables: a variable it hands to a program that no code
    reads, or one it expands without setting it that no code reads."""
    found, set_here = [], set()
    for line in logical:
        for words, expands in shell_commands(line):
            found += [f"uses ${n}, which it does not set and no code reads"
                      for n in expands if unknown(n) and n not in set_here]
            handed, local = handed_and_local(words) if words else ([], [])
            found += [f"sets {n} for a program, but no code reads it" for n in handed if unknown(n)]
            set_here.update(handed + local)
    return found


def snippet_variable_problems(pages, read_by_code):
    known = read_by_code | WELL_KNOWN

    def unknown(name):
        return SETTING.match(name) and name not in known and not name.startswith(WELL_KNOWN_PREFIXES)

    # The check itself, on lines whose verdict is known (so that it cannot quietly pass all).
    cases = {
        "export OKTA_ORG=https://x OKTA_API_TOKEN=t   # $IN_A_COMMENT": ["sets OKTA_ORG"],
        'curl -H "x-api-key: $GATEWAY_KEY" "$NL3_HOOK_URL"': ["uses $GATEWAY_KEY"],
        'KEY=$(aws x --query y) && curl "$KEY"': [],
        "curl -d '{\"uri\": \"$NOT_EXPANDED\", \"k\": \"'\"$HOOK_URL\"'\"}'": ["uses $HOOK_URL"],
        "make zip ARCH=arm64 NOT_A_MAKE_VAR=1": ["sets NOT_A_MAKE_VAR"],
        "OKTA_ORG_URL=x CARGO_PROFILE_RELEASE_LTO=off cargo run -p nl3-okta-admin -- audit": [],
    }
    for line, expected in cases.items():
        got = snippet_variables([line], unknown)
        if len(got) != len(expected) or not all(g.startswith(e) for g, e in zip(got, expected)):
            problems.append(f".ci/docs-check.py: the snippet check says {got} of {line!r}, not {expected}")

    found = []
    for page in pages:
        for start, logical in shell_snippets(page):
            found += [f"{page.relative_to(root)}: the snippet at line {start} {problem}"
                      for problem in snippet_variables(logical, unknown)]
    return list(dict.fromkeys(found))


def plain_citations(pages):
    """A section of contract.md cited as plain text ("docs/contract.md §6") where a reader needs
    a link (the code's comments cite it that way; the pages link it)."""
    found = []
    for page in pages:
        if page.name == "contract.md":
            continue
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"\[[^\]]*\]\([^)]*\)", "", text)  # links are fine
        for m in re.finditer(r"contract\.md §\d+", text):
            found.append(f"{page.relative_to(root)}: cites {m.group(0)} without linking it")
    return found


snippet_problems = snippet_variable_problems(pages, names_code_reads(in_code)) + plain_citations(pages)
problems += snippet_problems

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(
    f"docs: {len(pages)} pages' links resolve; {len(in_code)} settings in the table; "
    "shell snippets' variables all read by code"
)
