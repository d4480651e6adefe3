// $disconnect: forget the connection.
const { DynamoDBClient, DeleteItemCommand } = require("@aws-sdk/client-dynamodb");

const ddb = new DynamoDBClient({});

exports.handler = async (event) => {
  await ddb.send(
    new DeleteItemCommand({
      TableName: process.env.TABLE_NAME,
      Key: { connectionId: { S: event.requestContext.connectionId } },
    }),
  );
  return { statusCode: 200, body: "Disconnected." };
};
