// Run as a child process by connections-listener.test.mjs, so that NODE_EXTRA_CA_CERTS (read
// only when Node starts) names the gateway's self-signed certificate: one SDK v3 client on
// $ENDPOINT posts $MESSAGE to $CONNECTION_ID, describes it, then deletes it. Prints the
// GetConnection output as JSON, or the error's name and exits 1.
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";

const { ENDPOINT, CONNECTION_ID, MESSAGE, KEY, SECRET } = process.env;
const client = new ApiGatewayManagementApiClient({
  endpoint: ENDPOINT,
  region: "us-east-1",
  credentials: { accessKeyId: KEY, secretAccessKey: SECRET },
  maxAttempts: 1,
});
try {
  await client.send(new PostToConnectionCommand({ ConnectionId: CONNECTION_ID, Data: Buffer.from(MESSAGE) }));
  const described = await client.send(new GetConnectionCommand({ ConnectionId: CONNECTION_ID }));
  await client.send(new DeleteConnectionCommand({ ConnectionId: CONNECTION_ID }));
  console.log(JSON.stringify({ sourceIp: described.Identity?.SourceIp }));
} catch (e) {
  console.log(JSON.stringify({ error: e.name, status: e.$metadata?.httpStatusCode }));
  process.exitCode = 1;
} finally {
  client.destroy();
}
