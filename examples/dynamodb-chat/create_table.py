"""Creates the example's ChatMessages table (partition key room, sort key at = "{epoch millis}-{requestId}").

Usage: python3 create_table.py [ENDPOINT]   (default http://127.0.0.1:8000)
"""

import sys

import boto3

TABLE = "ChatMessages"


def create_table(endpoint, region="us-east-1", **credentials):
    """Creates the table unless it exists; `credentials` go to boto3.client."""
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region, **credentials)
    if TABLE in client.list_tables()["TableNames"]:
        return
    client.create_table(
        TableName=TABLE,
        KeySchema=[
            {"AttributeName": "room", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "room", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=TABLE)


if __name__ == "__main__":
    create_table(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
    print(f"table {TABLE} ready")
