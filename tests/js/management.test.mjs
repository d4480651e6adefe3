// The @connections API through the AWS SDK for JavaScript v3.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { apiConfig, connectClient, mgmtClient, startBackend, startGateway } from "./helpers.mjs";

const MAX = 131_072;

describe("auth = none", () => {
  let backend, gw, client;
  const sockets = [];
  const connect = async (ua) => {
    const c = await connectClient(gw, backend, ua);
    sockets.push(c.ws);
    return c;
  };

  before(async () => {
    backend = await startBackend();
    gw = await startGateway(apiConfig(backend), { env: backend.gatewayEnv() });
    client = mgmtClient(gw.endpoint);
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    client?.destroy();
    const code = await gw?.stop();
    await backend?.close();
    assert.equal(code, 0, `switchboard did not exit 0 on SIGTERM: ${gw?.stderr()}`);
  });

  test("PostToConnection delivers the exact bytes: UTF-8 as text, other bytes as binary", async () => {
    const c = await connect();
    const text = 'héllo ✓ {"a":[1,2]}\n\t"q"';
    await client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.from(text, "utf8") }));
    const m1 = await c.next();
    assert.equal(m1.isBinary, false);
    assert.equal(m1.data.toString("utf8"), text);
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x62, 0xc3]);
    await client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: bytes }));
    const m2 = await c.next();
    assert.equal(m2.isBinary, true);
    assert.deepEqual(m2.data, bytes);
  });

  test("GetConnection returns Date objects and the client's identity", async () => {
    const before = Date.now();
    const c = await connect("compat-js-agent/2.0");
    const out = await client.send(new GetConnectionCommand({ ConnectionId: c.id }));
    assert.ok(out.ConnectedAt instanceof Date, "ConnectedAt must parse as a Date");
    assert.ok(out.LastActiveAt instanceof Date, "LastActiveAt must parse as a Date");
    assert.ok(!Number.isNaN(out.ConnectedAt.getTime()));
    assert.ok(Math.abs(out.ConnectedAt.getTime() - before) < 5_000, `${out.ConnectedAt.toISOString()} vs now`);
    assert.ok(out.LastActiveAt.getTime() >= out.ConnectedAt.getTime());
    assert.equal(out.Identity.SourceIp, "127.0.0.1");
    assert.equal(out.Identity.UserAgent, "compat-js-agent/2.0");
  });

  test("DeleteConnection closes the client with 1000", async () => {
    const c = await connect();
    const out = await client.send(new DeleteConnectionCommand({ ConnectionId: c.id }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    const { code } = await c.closed;
    assert.equal(code, 1000);
    await backend.waitFor((e) => e.requestContext?.eventType === "DISCONNECT" && e.requestContext.connectionId === c.id);
    await assert.rejects(
      client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.from("late") })),
      (err) => err.name === "GoneException" && err.$metadata.httpStatusCode === 410,
    );
  });

  test("an unknown id throws GoneException (410)", async () => {
    for (const command of [
      new PostToConnectionCommand({ ConnectionId: "AAAAAAAAAAAAAAA=", Data: Buffer.from("x") }),
      new GetConnectionCommand({ ConnectionId: "AAAAAAAAAAAAAAA=" }),
      new DeleteConnectionCommand({ ConnectionId: "not-a-connection" }),
    ]) {
      await assert.rejects(client.send(command), (err) => {
        assert.equal(err.name, "GoneException");
        assert.equal(err.$metadata.httpStatusCode, 410);
        return true;
      });
    }
  });

  test("131,073 bytes throw PayloadTooLargeException; 131,072 are delivered", async () => {
    const c = await connect();
    await assert.rejects(
      client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.alloc(MAX + 1, 0x61) })),
      (err) => {
        assert.equal(err.name, "PayloadTooLargeException");
        assert.equal(err.$metadata.httpStatusCode, 413);
        return true;
      },
    );
    const full = Buffer.alloc(MAX, 0x62);
    await client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: full }));
    const m = await c.next();
    assert.equal(m.data.length, MAX);
    assert.deepEqual(m.data, full);
  });
});

describe("auth = sigv4", () => {
  const cred = { accessKeyId: "AKIDCOMPATJS", secretAccessKey: "js/Secret+Key/0123456789EXAMPLE" };
  const region = "ap-southeast-2";
  let backend, gw;
  const sockets = [];
  const clients = [];
  const client = (over = {}) => {
    const c = mgmtClient(gw.endpoint, { ...cred, region, ...over });
    clients.push(c);
    return c;
  };

  before(async () => {
    backend = await startBackend();
    gw = await startGateway(apiConfig(backend, { auth: "sigv4", credentials: [cred], region }), { env: backend.gatewayEnv() });
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    for (const c of clients) c.destroy();
    const code = await gw?.stop();
    await backend?.close();
    assert.equal(code, 0, `switchboard did not exit 0 on SIGTERM: ${gw?.stderr()}`);
  });

  test("signed calls succeed; a wrong secret gets 403 and delivers nothing", async () => {
    const c = await connectClient(gw, backend);
    sockets.push(c.ws);
    await assert.rejects(
      client({ secretAccessKey: "wrong" }).send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.from("forged") })),
      (err) => {
        assert.equal(err.$metadata.httpStatusCode, 403);
        return true;
      },
    );
    await client().send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.from("signed") }));
    assert.equal((await c.next()).data.toString(), "signed");
    const out = await client().send(new GetConnectionCommand({ ConnectionId: c.id }));
    assert.equal(out.Identity.SourceIp, "127.0.0.1");
  });
});
