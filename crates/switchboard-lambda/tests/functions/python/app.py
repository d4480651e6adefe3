"""Test handler for switchboard-lambda: what it does is chosen by the event's `action`."""
import json
import os
import time


def handler(event, context):
    if "requestContext" in event:
        route = event["requestContext"]["routeKey"]
        if route in ("$connect", "$disconnect"):
            return {"statusCode": 200}
        message = json.loads(event["body"])
        return {"statusCode": 200, "body": f"python says {message['text']} (pid {os.getpid()})"}
    action = event.get("action")
    if action == "whoami":
        return {
            "pid": os.getpid(),
            "event": event,
            "functionName": context.function_name,
            "functionVersion": context.function_version,
            "memoryLimitInMB": str(context.memory_limit_in_mb),
            "invokedFunctionArn": context.invoked_function_arn,
            "awsRequestId": context.aws_request_id,
            "logGroupName": context.log_group_name,
            "remainingMs": context.get_remaining_time_in_millis(),
            "clientCustom": context.client_context.custom if context.client_context else None,
            "cwd": os.getcwd(),
        }
    if action == "env":
        return {name: os.environ.get(name) for name in event["names"]}
    if action == "log":
        print(event["marker"])
        return {"logged": True}
    if action == "throw":
        raise ValueError(event["message"])
    if action == "exit":
        os._exit(3)
    if action == "hang":
        while True:
            time.sleep(60)
    if action == "gate":
        while not os.path.exists(event["file"]):
            time.sleep(0.01)
        return {"pid": os.getpid()}
    return {"pid": os.getpid()}
