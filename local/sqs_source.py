#!/usr/bin/env python3
"""A stand-in for Lambda's SQS event source mapping, for `make run`: feeds the guard's worker
from the local queue as Lambda feeds it from the deployed one (template.yaml: BatchSize 10,
FunctionResponseTypes ReportBatchItemFailures).

    local/sqs_source.py ENDPOINT QUEUE_URL INVOKE_URL

Receives up to 10 messages at a time from QUEUE_URL on the local SQS at ENDPOINT (moto; long
polls of 1 s), invokes the function at INVOKE_URL (the emulator's
`/2015-03-31/functions/NAME/invocations`) with the SQS event Lambda builds (`Records`, each with
messageId, receiptHandle, body, attributes with MessageGroupId, md5OfBody, eventSource,
eventSourceARN, awsRegion), and deletes every message the answer does not name in
`batchItemFailures`. The named ones are left to come back after the queue's visibility timeout
(and, after its last receive, to go to the dead-letter queue, as the queue's redrive policy says).
As Lambda does, a failed invocation, an error answer or an answer naming a message that was not
in the batch leaves the whole batch to come back; an empty answer deletes the whole batch.

Prints `polling QUEUE_URL` once the queue has answered, then one line per batch. An error
reaching SQS or the function is printed and the next poll comes a second later."""
import json
import sys
import time
import urllib.error
import urllib.request

REGION = "us-east-1"
BATCH_SIZE = 10


def lambda_event(queue_arn, messages):
    """The event Lambda's SQS event source hands the function, for these received messages."""
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {
            name: {"stringValue": a.get("StringValue"), "binaryValue": a.get("BinaryValue"),
                   "stringListValues": [], "binaryListValues": [], "dataType": a["DataType"]}
            for name, a in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    } for m in messages]}


def invoke(url, event):
    """The function's answer to `event` (None: an empty answer), or an exception saying why the
    batch as a whole failed."""
    request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        raw = response.read()
        if response.headers.get("X-Amz-Function-Error"):
            raise RuntimeError(f"the function failed: {raw[:300]!r}")
    if not raw.strip() or raw.strip() == b"null":
        return None
    return json.loads(raw)


def failures(answer, ids):
    """The message ids the answer hands back; every id when the answer cannot be read as a
    partial batch response (Lambda then fails the whole batch)."""
    if answer is None:
        return set()
    if not isinstance(answer, dict):
        print("  the answer is not a partial batch response: the whole batch comes back", flush=True)
        return set(ids)
    items = answer.get("batchItemFailures")
    if not items:
        return set()  # none named (or no list at all): a success, as Lambda reads it
    named = {i.get("itemIdentifier") if isinstance(i, dict) else None for i in items}
    if not named <= set(ids):
        print(f"  the answer names {sorted(map(str, named - set(ids)))}, not in the batch:"
              " the whole batch comes back", flush=True)
        return set(ids)
    return named


def main():
    # Here, not at the top: local/guard.py takes lambda_event without loading the AWS SDK.
    import boto3

    endpoint, queue_url, invoke_url = sys.argv[1:4]
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="local", aws_secret_access_key="local")
    announced = False
    while True:
        try:
            if not announced:
                arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
                queue_arn = arn["Attributes"]["QueueArn"]
                print(f"polling {queue_url}, invoking {invoke_url}", flush=True)
                announced = True
            got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=BATCH_SIZE,
                                      WaitTimeSeconds=1, AttributeNames=["All"],
                                      MessageAttributeNames=["All"])
        except Exception as e:  # moto gone or not there yet: run.sh watches moto itself
            print(f"SQS: {e}", flush=True)
            time.sleep(1)
            continue
        messages = got.get("Messages", [])
        if not messages:
            continue
        ids = [m["MessageId"] for m in messages]
        try:
            back = failures(invoke(invoke_url, lambda_event(queue_arn, messages)), ids)
        except (urllib.error.URLError, OSError, ValueError, RuntimeError) as e:
            print(f"batch of {len(ids)}: the invocation failed ({e}): all back on the queue", flush=True)
            time.sleep(1)
            continue
        done = [m for m in messages if m["MessageId"] not in back]
        if done:
            try:
                sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
            except Exception as e:
                print(f"batch of {len(ids)}: handled, but not deleted ({e}): it comes back", flush=True)
                continue
        print(f"batch of {len(ids)}: {len(done)} handled and deleted"
              + (f", {len(back)} back on the queue: {', '.join(sorted(back))}" if back else ""),
              flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
