// sendmessage: {"action":"sendmessage","data":"…"} goes to every connection in the table.
// The management endpoint is built from the event, as on AWS: https://{domainName}/{stage}.
const { DynamoDBClient, ScanCommand, DeleteItemCommand } = require("@aws-sdk/client-dynamodb");
const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
  GoneException,
} = require("@aws-sdk/client-apigatewaymanagementapi");

const ddb = new DynamoDBClient({});

exports.handler = async (event) => {
  const { domainName, stage } = event.requestContext;
  const api = new ApiGatewayManagementApiClient({ endpoint: `https://${domainName}/${stage}` });
  const data = JSON.parse(event.body).data;
  const table = process.env.TABLE_NAME;
  const { Items = [] } = await ddb.send(new ScanCommand({ TableName: table, ProjectionExpression: "connectionId" }));
  await Promise.all(
    Items.map(async (item) => {
      const connectionId = item.connectionId.S;
      try {
        await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      } catch (e) {
        if (!(e instanceof GoneException)) throw e;
        await ddb.send(new DeleteItemCommand({ TableName: table, Key: { connectionId: { S: connectionId } } }));
      }
    }),
  );
  return { statusCode: 200, body: "Data sent." };
};
