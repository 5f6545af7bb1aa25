#!/usr/bin/env bash
# Offline checks of the SAM template: cfn-lint, SAM's own validation with its linter, and a
# security scan (checkov). None calls AWS or any other service: no credentials are needed (the
# template uses no SAM policy templates or managed-policy names, which `sam validate` would
# otherwise look up through IAM; the one managed policy is named by its full ARN).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}

echo "== cfn-lint $("$venv/bin/cfn-lint" --version | awk '{print $2}')"
"$venv/bin/cfn-lint" template.yaml

echo "== sam validate --lint"
# A region is all SAM wants. AWS_PROFILE is dropped: a profile name with no local config (common
# in CI) makes the SAM CLI stop before validating anything.
env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 \
    "$venv/bin/sam" validate --lint --template template.yaml --region us-east-1

# checkov lives in its own venv: it pins boto3 exactly, to a version aws-sam-cli refuses.
scan_venv=$venv/checkov
if [ ! -f "$scan_venv/.installed" ] || [ requirements-scan.txt -nt "$scan_venv/.installed" ]; then
    python3 -m venv "$scan_venv"
    "$scan_venv/bin/pip" install --quiet --disable-pip-version-check -r requirements-scan.txt
    touch "$scan_venv/.installed"
fi
echo "== checkov $("$scan_venv/bin/checkov" --version 2>/dev/null)"
# Every skipped check is named, with its reason, in the resource's Metadata.checkov.skip; the
# run lists them. --skip-download keeps it offline (no policy metadata, no guidelines).
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
"$scan_venv/bin/checkov" --file template.yaml --framework cloudformation --skip-download \
    --compact --output cli > "$out" 2>&1
rc=$?
set -e
grep -E 'Passed checks|FAILED|SKIPPED|Suppress comment' "$out" | sed 's/^\s*/  /' || true
if [ "$rc" != 0 ]; then
    cat "$out"
    echo "checkov found failing checks (fix them, or skip each in the resource's Metadata with a reason)"
    exit 1
fi
# A skip without a reason would pass checkov: refuse it here.
python3 - <<'PY'
import re, sys
text = open("template.yaml").read()
ids = re.findall(r"- id: (CKV\w+)\n\s+comment: >-\n\s+\S", text)
skips = re.findall(r"- id: (CKV\w+)", text)
missing = sorted(set(skips) - set(ids))
if missing:
    sys.exit(f"checkov skips without a reason in template.yaml: {missing}")
print(f"  {len(skips)} skipped checks, each with a reason in the template's Metadata")
PY

echo "template checks passed (${SECONDS}s)"
