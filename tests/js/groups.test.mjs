// The groups extension (docs/groups.md) from Node: calls signed with the AWS SDK's own signer
// (@smithy/signature-v4, service execute-api), clients joined by the `$connect` answer, a
// broadcast that skips the sender, and the SDK's PostToConnection on the same gateway.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { Sha256 } from "@smithy/core/checksum";
import { SignatureV4 } from "@smithy/signature-v4";
import { apiConfig, connectClient, mgmtClient, startBackend, startGateway, WAIT } from "./helpers.mjs";

const REGION = "eu-west-1";
const KEY = { accessKeyId: "AKIDGROUPSJS", secretAccessKey: "groups-js/Secret+Key/0123456789EXAMPLE" };

/** One signed management call; resolves { status, body }. */
async function call(endpoint, method, path, body = "") {
  const url = new URL(endpoint + path);
  const signer = new SignatureV4({ credentials: KEY, region: REGION, service: "execute-api", sha256: Sha256 });
  const request = await signer.sign({
    method,
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: { host: url.host },
    body,
  });
  const response = await fetch(url, {
    method,
    headers: request.headers,
    body: body === "" ? undefined : body,
    signal: AbortSignal.timeout(WAIT),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

describe("groups from the JavaScript SDK's signer", () => {
  let backend, gw;
  const sockets = [];
  // `$connect` joins every client to "lobby" through the documented response header.
  const joinLobby = (event) =>
    event.requestContext?.eventType === "CONNECT"
      ? { statusCode: 200, headers: { "X-Switchboard-Groups": "lobby" } }
      : { statusCode: 200 };

  before(async () => {
    backend = await startBackend(joinLobby);
    const config = apiConfig(backend, { auth: "sigv4", credentials: [KEY], region: REGION });
    gw = await startGateway(config, { env: backend.gatewayEnv() });
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    const code = await gw?.stop();
    await backend?.close();
    assert.equal(code, 0, `switchboard did not exit 0 on SIGTERM: ${gw?.stderr()}`);
  });

  test("a broadcast reaches every member but the excluded sender, once", async () => {
    const members = [];
    for (let i = 0; i < 3; i++) {
      const c = await connectClient(gw, backend);
      sockets.push(c.ws);
      members.push(c);
    }
    const [sender, ...others] = members;
    const group = await call(gw.endpoint, "GET", "/@groups/lobby");
    assert.equal(group.status, 200);
    assert.equal(group.body.count, 3);

    const answer = await call(gw.endpoint, "POST", `/@groups/lobby?exclude=${encodeURIComponent(sender.id)}`, "hi all");
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { queued: 2, skipped: 0, nodesAsked: 1, nodesAnswered: 1, complete: true });
    for (const c of others) assert.equal((await c.next()).data.toString(), "hi all");

    // The SDK's own call still works beside the extensions, and the sender got nothing before it.
    const client = mgmtClient(gw.endpoint, { ...KEY, region: REGION });
    await client.send(new PostToConnectionCommand({ ConnectionId: sender.id, Data: Buffer.from("direct") }));
    assert.equal((await sender.next()).data.toString(), "direct");
    client.destroy();

    const left = await call(gw.endpoint, "DELETE", `/@connections/${encodeURIComponent(sender.id)}/groups/lobby`);
    assert.equal(left.status, 204);
    const listed = await call(gw.endpoint, "GET", "/@connections?group=lobby&limit=1");
    assert.equal(listed.status, 200);
    assert.equal(listed.body.count, 2);
    assert.equal(listed.body.connections.length, 1);
    assert.ok(listed.body.nextToken, "a second page exists");
  });

  test("a bad group name is a 400 with a message", async () => {
    const bad = await call(gw.endpoint, "POST", "/@groups/a%2Fb", "x");
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /group name/);
  });
});
