"""Benchmark handler: a WebSocket proxy event's body goes back as the two-way reply; any other
event (a direct Invoke) is returned as it came."""


def handler(event, context):
    if "requestContext" in event:
        return {"statusCode": 200, "body": event.get("body")}
    return event
