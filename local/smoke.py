#!/usr/bin/env python3
"""`make smoke`: does the deployed hook answer? No Okta wiring needed.

    local/smoke.py --stack NAME      # reads the stack's outputs (HookUrl, ApiKeyId, SecretArn)
    local/smoke.py                   # NL3_HOOK_URL, API_KEY or SECRET_ID, GATEWAY_API_KEY

Sends Okta's published token inline hook sample (tests/fixtures/okta/token-hook-request.json) to
the hook URL as Okta would: the hook secret base64-encoded in API_KEY_HEADER (Authorization),
the gateway key in x-api-key. Prints the decision, the reason and the time it took; then sends
it again with a wrong secret and prints what that gets (it must be `forbidden`). Exits 0 when
the hook checked the user (any decision but forbidden, fail_open and fail_closed) within Okta's
3 s and refused the wrong secret; else 1, saying what is wrong. Settings in the environment win
over the stack's outputs. AWS calls (only with --stack or SECRET_ID) use boto3's usual
credentials and region (AWS_PROFILE, AWS_REGION …)."""
import argparse
import base64
import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "tests" / "fixtures" / "okta" / "token-hook-request.json"
OKTA_TIMEOUT_MS = 3000
CHECKED = {"allowed", "locked", "no_user", "not_enrolled", "unlisted_refused", "would_refuse"}


def client(service):
    import boto3  # only when AWS is asked: the venv's (`make setup`)

    # AWS_REGION as the AWS CLI reads it (boto3 alone reads only AWS_DEFAULT_REGION).
    return boto3.client(service, region_name=os.environ.get("AWS_REGION") or None)


def stack_outputs(name):
    stack = client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def gateway_key(key_id):
    return client("apigateway").get_api_key(apiKey=key_id, includeValue=True)["value"]


def api_key_in(secret_id):
    secret = client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return json.loads(secret)["API_KEY"]


def post(url, headers, body):
    """(status, body as JSON or text, milliseconds); status None when no answer came."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        return None, str(getattr(e, "reason", e)), (time.monotonic() - start) * 1000
    ms = (time.monotonic() - start) * 1000
    try:
        return status, json.loads(raw), ms
    except ValueError:
        return status, raw.decode(errors="replace")[:300], ms


def describe(status, answer, ms):
    if status is None:
        return f"no answer after {ms:.0f} ms: {answer}"
    if not isinstance(answer, dict):
        return f"HTTP {status} in {ms:.0f} ms: {answer!r}"
    context = answer.get("debugContext", {})
    decision = context.get("decision", "-")
    said = context.get("reason") or answer.get("message", "")
    hook_ms = f" (the hook: {context['elapsedMs']} ms)" if "elapsedMs" in context else ""
    would = f", would refuse: {context['wouldRefuse']}" if "wouldRefuse" in context else ""
    okta = answer.get("error", {}).get("errorSummary")
    okta = f"; Okta is told \"{okta}\"" if okta else ""
    return f"HTTP {status} in {ms:.0f} ms{hook_ms}: {decision}{would} ({said}){okta}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", help="the stack's name (its outputs give the URL, the keys and the log group)")
    args = parser.parse_args()

    outputs = stack_outputs(args.stack) if args.stack else {}
    url = os.environ.get("NL3_HOOK_URL") or outputs.get("HookUrl")
    api_key = os.environ.get("API_KEY")
    secret_id = os.environ.get("SECRET_ID") or outputs.get("SecretArn")
    if not api_key and secret_id:
        api_key = api_key_in(secret_id)
    gateway = os.environ.get("GATEWAY_API_KEY")
    if gateway is None and outputs.get("ApiKeyId"):
        gateway = gateway_key(outputs["ApiKeyId"])
    if not url or not api_key:
        sys.exit("smoke: give the stack's name (make smoke STACK=nl3-okta-hook), or set NL3_HOOK_URL "
                 "(the HookUrl output) and API_KEY or SECRET_ID (and GATEWAY_API_KEY behind API Gateway)")
    header = os.environ.get("API_KEY_HEADER") or "Authorization"

    body = SAMPLE.read_bytes()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if gateway:
        headers["x-api-key"] = gateway
    print(f"smoke check of {url}" + (f" (stack {args.stack})" if args.stack else ""))
    if not gateway:
        print("  no GATEWAY_API_KEY: calls go without x-api-key (right for a function URL; API Gateway refuses them)")

    right = post(url, {**headers, header: base64.b64encode(api_key.encode()).decode()}, body)
    print(f"  Okta's token sample, the hook secret: {describe(*right)}")
    wrong = post(url, {**headers, header: base64.b64encode(b"not-" + api_key.encode()).decode()}, body)
    print(f"  the same with a wrong secret:        {describe(*wrong)}")

    problems = []
    status, answer, ms = right
    decision = answer.get("debugContext", {}).get("decision") if isinstance(answer, dict) else None
    if status == 403 and isinstance(answer, dict) and "message" in answer:
        problems.append("API Gateway refused the call (403): GATEWAY_API_KEY is missing or is not the value of "
                        "the ApiKeyId output's key")
    elif status is None or status >= 500:
        problems.append("the hook did not answer: see its log (below)")
    elif decision == "forbidden":
        problems.append(f"the hook refused the secret: API_KEY is not the one in its secret, or it reads "
                        f"another header than {header} (API_KEY_HEADER)")
    elif decision in ("fail_open", "fail_closed") or answer.get("debugContext", {}).get("wouldRefuse") == "failed_check":
        problems.append("the hook could not ask NL3 (the reason above): is your NL3 SIGNING_KEY in the secret, "
                        "and API_URI right? (docs/deploying.md, The secret)")
    elif decision not in CHECKED:
        problems.append(f"unexpected answer: {answer!r}")
    elif ms > OKTA_TIMEOUT_MS:
        problems.append(f"{ms:.0f} ms is over Okta's 3 s: Okta would have let that sign-in through unchecked "
                        "(a cold start? run it again)")
    wrong_decision = wrong[1].get("debugContext", {}).get("decision") if isinstance(wrong[1], dict) else None
    if not problems and wrong_decision != "forbidden":
        problems.append("a wrong secret was not refused (forbidden)")

    stack = args.stack or "<stack name>"
    log_group = outputs.get("LogGroupName", f"/aws/lambda/{stack}-hook")
    print("Follow the function's log (one JSON line per call, the decision and the reason):")
    print(f"  sam logs --stack-name {stack} --name HookFunction --tail")
    print(f"  aws logs tail {log_group} --follow")
    if problems:
        print("\n".join(f"FAILED: {p}" for p in problems))
        return 1
    print("smoke check passed: the hook checked the sample's user and refused a wrong secret")
    return 0


if __name__ == "__main__":
    sys.exit(main())
