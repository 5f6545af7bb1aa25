#!/usr/bin/env bash
# Offline checks of the SAM template: cfn-lint, then SAM's own validation with its linter.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
"$venv/bin/cfn-lint" template.yaml
# sam validate reads no credentials for --lint, but the SDK under it wants a region and a profile.
AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline \
SAM_CLI_TELEMETRY=0 "$venv/bin/sam" validate --lint --template template.yaml --region us-east-1
echo "template checks passed"
