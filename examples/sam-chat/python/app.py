"""The same chat in one Python handler (boto3): $connect, $disconnect and sendmessage."""

import json
import os

import boto3

TABLE = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    ctx = event["requestContext"]
    route, connection_id = ctx["routeKey"], ctx["connectionId"]
    if route == "$connect":
        TABLE.put_item(Item={"connectionId": connection_id})
        return {"statusCode": 200, "body": "Connected."}
    if route == "$disconnect":
        TABLE.delete_item(Key={"connectionId": connection_id})
        return {"statusCode": 200, "body": "Disconnected."}
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"https://{ctx['domainName']}/{ctx['stage']}",
    )
    data = json.loads(event["body"])["data"]
    for item in TABLE.scan(ProjectionExpression="connectionId")["Items"]:
        try:
            api.post_to_connection(ConnectionId=item["connectionId"], Data=data.encode())
        except api.exceptions.GoneException:
            TABLE.delete_item(Key={"connectionId": item["connectionId"]})
    return {"statusCode": 200, "body": "Data sent."}
