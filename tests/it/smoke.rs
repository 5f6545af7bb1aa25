//! `make smoke` (local/smoke.py), the check of a deployed hook, against the built hook under
//! the emulator (its function URL on loopback stands in for the deployed API), and its `--stack`
//! path against a CloudFormation stack, an API key and a secret in moto, with a stand-in of API
//! Gateway that refuses calls without the right `x-api-key`.

use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

fn python() -> std::path::PathBuf {
    nl3_testkit::venv_program("python3")
}

/// local/smoke.py with `args`, in an environment holding only `env` (and PATH): its exit
/// status and everything it printed.
async fn smoke(args: &[&str], env: &[(&str, String)]) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(python())
        .arg("local/smoke.py")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .unwrap();
    let printed =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code(), printed)
}

/// local/smoke.py against the built hook (under the emulator, on `up`'s stand-ins), with
/// `api_key` as the hook secret it sends.
async fn smoke_hook(up: &Upstreams, api_key: &str) -> (Option<i32>, String) {
    let hook = crate::helpers::emulated_hook(up.env()).await;
    let env = [
        ("NL3_HOOK_URL", hook.function_url("/okta/hook")),
        ("API_KEY", api_key.to_string()),
    ];
    smoke(&[], &env).await
}

fn line_of<'a>(printed: &'a str, start: &str) -> &'a str {
    printed
        .lines()
        .find(|l| l.trim_start().starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{printed}"))
}

/// "HTTP 200 in 12 ms (the hook: 3 ms): allowed (…)": the time is a number of milliseconds.
fn assert_timed(line: &str, answer: &str) {
    let after = line.split("HTTP 200 in ").nth(1).unwrap_or("");
    let ms = after.split(" ms").next().unwrap_or("");
    assert!(ms.parse::<u64>().is_ok(), "a time in ms: {line}");
    assert!(line.contains(answer), "{answer:?} in {line}");
}

#[tokio::test]
async fn smoke_prints_the_decision_the_time_and_what_a_wrong_secret_gets() {
    let up = Upstreams::start().await;
    let (status, printed) = smoke_hook(&up, API_KEY).await;
    assert_eq!(status, Some(0), "{printed}");
    let sample = line_of(&printed, "Okta's token sample, the hook secret:");
    assert_timed(sample, "(the hook: ");
    assert!(
        sample.contains(": allowed (NL3: account is not locked)"),
        "{printed}"
    );
    assert_timed(
        line_of(&printed, "the same with a wrong secret:"),
        ": forbidden (hook call not authenticated: authorization header does not carry the API key); Okta is told \"Okta Hook Forbidden\"",
    );
    assert!(printed.contains("no GATEWAY_API_KEY: calls go without x-api-key"));
    assert!(printed.contains("smoke check passed"), "{printed}");
    // The stand-in verified one JWT: the right secret's call went through NL3, the wrong one's not.
    let checks = up.nl3_requests().await;
    assert_eq!(
        checks
            .iter()
            .filter(|r| r.method.as_str() == "POST")
            .count(),
        1
    );
}

#[tokio::test]
async fn smoke_fails_saying_why_when_the_hook_cannot_ask_nl3() {
    let up = Upstreams::start_empty().await; // NL3 answers 404 to everything
    let (status, printed) = smoke_hook(&up, API_KEY).await;
    assert_eq!(status, Some(1), "{printed}");
    assert!(
        line_of(&printed, "Okta's token sample, the hook secret:").contains(": fail_open ("),
        "{printed}"
    );
    assert!(
        printed.contains("FAILED: the hook could not ask NL3"),
        "{printed}"
    );
}

#[tokio::test]
async fn smoke_fails_when_its_secret_is_not_the_hooks() {
    let up = Upstreams::start().await;
    let (status, printed) = smoke_hook(&up, "not-the-hook-secret").await;
    assert_eq!(status, Some(1), "{printed}");
    assert!(
        printed.contains("FAILED: the hook refused the secret"),
        "{printed}"
    );
}

/// A stand-in of the deployed API: API Gateway's 403 without the right `x-api-key`; behind it,
/// the hook's answers to the right and to any other secret.
async fn gateway(gateway_key: &str, api_key: &str) -> MockServer {
    let server = MockServer::start().await;
    let hook = "/prod/okta/hook";
    Mock::given(method("POST"))
        .and(path(hook))
        .and(header("x-api-key", gateway_key))
        .and(header("authorization", b64(api_key).as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"commands": [],
            "debugContext": {"decision": "allowed", "reason": "NL3: account is not locked", "elapsedMs": "31"}})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(hook))
        .and(header("x-api-key", gateway_key))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "error": {"errorSummary": "Okta Hook Forbidden"},
            "debugContext": {"decision": "forbidden", "reason": "the API key is not valid", "elapsedMs": "1"}})))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "Forbidden"})))
        .with_priority(3)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn smoke_reads_the_url_and_both_keys_from_the_stack() {
    let moto = Moto::start(0).await;
    let api = gateway("gw-key-value-1234567890", "stack-api-key").await;
    let aws = [
        ("AWS_ENDPOINT_URL", moto.url.clone()),
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_ACCESS_KEY_ID", "testing".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
    ];
    // The stack as `sam deploy` leaves it, as far as the check reads it: its outputs, the API
    // key they name, the secret they name.
    let created = tokio::process::Command::new(python())
        .arg("-c")
        .arg(
            r#"
import boto3, json, sys
key = boto3.client("apigateway").create_api_key(name="k", enabled=True, value="gw-key-value-1234567890")
arn = boto3.client("secretsmanager").create_secret(Name="nl3/okta-hook",
    SecretString=json.dumps({"API_KEY": "stack-api-key", "SIGNING_KEY": "x"}))["ARN"]
outputs = {"HookUrl": sys.argv[1] + "/prod/okta/hook", "ApiKeyId": key["id"], "SecretArn": arn,
           "LogGroupName": "/aws/lambda/nl3-smoke-hook"}
template = {"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {k: {"Value": v} for k, v in outputs.items()}}
boto3.client("cloudformation").create_stack(StackName="nl3-smoke", TemplateBody=json.dumps(template))
"#,
        )
        .arg(api.uri())
        .env_clear()
        .envs(aws.iter().map(|(k, v)| (k, v)))
        .env("AWS_DEFAULT_REGION", "us-east-1") // boto3 alone; smoke.py reads AWS_REGION
        .status()
        .await
        .unwrap();
    assert!(created.success());

    let (status, printed) = smoke(&["--stack", "nl3-smoke"], &aws).await;
    assert_eq!(status, Some(0), "{printed}");
    assert!(printed.contains(&format!(
        "smoke check of {}/prod/okta/hook (stack nl3-smoke)",
        api.uri()
    )));
    assert_timed(
        line_of(&printed, "Okta's token sample, the hook secret:"),
        "(the hook: 31 ms): allowed",
    );
    assert!(line_of(&printed, "the same with a wrong secret:").contains(": forbidden"));
    assert!(printed.contains("sam logs --stack-name nl3-smoke --name HookFunction --tail"));
    assert!(printed.contains("aws logs tail /aws/lambda/nl3-smoke-hook --follow"));

    // A gateway key that is not the stack's: API Gateway's 403, said plainly.
    let mut wrong_key = aws.to_vec();
    wrong_key.push(("GATEWAY_API_KEY", "not-the-gateway-key".to_string()));
    let (status, printed) = smoke(&["--stack", "nl3-smoke"], &wrong_key).await;
    assert_eq!(status, Some(1), "{printed}");
    assert!(
        printed.contains("FAILED: API Gateway refused the call (403)"),
        "{printed}"
    );
    moto.stop().await;
}
