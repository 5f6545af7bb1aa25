#!/usr/bin/env python3
"""Puts into the local AWS (moto's server, `make run`'s MOTO_PORT) what the deployed stack holds:

    local/aws_local.py ENDPOINT --queue-url URL --okta-secret NAME --okta-token TOKEN
                                [--hook-secret NAME]

- the guard's SQS FIFO queue at URL (the receiver's EVENTS_QUEUE_URL) and its dead-letter queue
  (the same name with `-dlq` before `.fifo`), set as template.yaml sets them, but for the
  visibility timeout: 10 s here, so that an event the worker failed comes back while one watches;
- the guard's Okta credential secret NAME (OKTA_SECRET_ID): {"OKTA_API_TOKEN": TOKEN};
- with --hook-secret (LOCAL_SECRETS=moto), the hook's secret NAME from the environment's API_KEY,
  SIGNING_KEY, IPINFO_TOKEN and APPS, as the hook, the receiver and the worker read it.

Waits (at most 30 s) for moto to answer first. Anything already there is kept (an earlier run's
moto is never reused: run.sh starts its own). Exits 1, saying why, when something cannot be
made, or when moto names the queue at another URL than URL."""
import argparse
import json
import os
import sys
import time

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError

REGION = "us-east-1"
VISIBILITY_TIMEOUT = 10
MAX_RECEIVE_COUNT = 5  # as template.yaml's RedrivePolicy


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="local", aws_secret_access_key="local")


def wait_for(endpoint):
    sqs = client("sqs", endpoint)
    deadline = time.monotonic() + 30
    while True:
        try:
            sqs.list_queues()
            return
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                sys.exit(f"the local AWS (moto) at {endpoint} did not answer within 30 s")
            time.sleep(0.1)  # moto still starting: asked again


def put_secret(sm, name, value):
    try:
        sm.create_secret(Name=name, SecretString=json.dumps(value))
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceExistsException":
            raise


def queues(sqs, url):
    name = url.rstrip("/").rsplit("/", 1)[-1]
    if not name.endswith(".fifo"):
        sys.exit(f"EVENTS_QUEUE_URL {url} does not name a FIFO queue (…/NAME.fifo)")
    dlq_name = name[: -len(".fifo")] + "-dlq.fifo"
    dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "false",
        "MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    got = sqs.create_queue(QueueName=name, Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "false",
        "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId",
        "MessageRetentionPeriod": "345600", "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}),
    })["QueueUrl"]
    if got != url:
        sys.exit(f"the local SQS named the queue {got}, not {url} (EVENTS_QUEUE_URL)")
    return dlq_url


def main():
    p = argparse.ArgumentParser()
    p.add_argument("endpoint")
    p.add_argument("--queue-url", required=True)
    p.add_argument("--okta-secret", required=True)
    p.add_argument("--okta-token", required=True)
    p.add_argument("--hook-secret")
    args = p.parse_args()
    wait_for(args.endpoint)
    sm = client("secretsmanager", args.endpoint)
    if args.hook_secret:
        secret = {k: os.environ[k] for k in ("API_KEY", "SIGNING_KEY", "IPINFO_TOKEN")}
        secret["APPS"] = json.loads(os.environ.get("APPS", "{}"))
        put_secret(sm, args.hook_secret, secret)
        print(f"   the hook's secret {args.hook_secret}")
    put_secret(sm, args.okta_secret, {"OKTA_API_TOKEN": args.okta_token})
    print(f"   the guard's Okta credentials {args.okta_secret} (the sample org's API token)")
    dlq = queues(client("sqs", args.endpoint), args.queue_url)
    print(f"   the guard's queue {args.queue_url} (FIFO; visibility {VISIBILITY_TIMEOUT} s;"
          f" dead-letter queue {dlq.rsplit('/', 1)[-1]} after {MAX_RECEIVE_COUNT} receives)")


if __name__ == "__main__":
    main()
