#!/usr/bin/env bash
# Offline checks of the SAM template: cfn-lint, then SAM's own validation with its linter.
# Neither calls AWS: no credentials are needed (the template uses no SAM policy templates or
# managed-policy names, which `sam validate` would otherwise look up through IAM).
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

echo "template checks passed (${SECONDS}s)"
