// @connections on the WebSocket listener (`[management] onServerListener`) through the AWS SDK
// for JavaScript v3, at the endpoint handler code builds from its event:
// `{proto}://{requestContext.domainName}/{requestContext.stage}` — over TLS with a self-signed
// certificate trusted through NODE_EXTRA_CA_CERTS, and over plain HTTP.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, test } from "node:test";
import { promisify } from "node:util";
import { PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import WebSocket from "ws";
import { WAIT, apiConfig, mgmtClient, startBackend, startGateway } from "./helpers.mjs";

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const KEY = { accessKeyId: "AKIDJSLISTENER", secretAccessKey: "js/listener+Secret0123456789EXAMPLEKEY" };

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl. */
async function selfSigned() {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-js-tls-"));
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", key, "-out", cert,
  ]);
  return { cert, key };
}

/** apiConfig with `onServerListener`, and TLS on the WebSocket listener when `tls` is given. */
function config(backend, { tls, auth = "none" } = {}) {
  let text = apiConfig(backend, { auth, credentials: auth === "sigv4" ? [KEY] : [] });
  text = text.replace(`auth = "${auth}"\n`, `auth = "${auth}"\nonServerListener = true\n`);
  if (tls) {
    text = text.replace("[management]\n", `[server.tls]\ncertFile = "${tls.cert}"\nkeyFile = "${tls.key}"\n[management]\n`);
  }
  return text;
}

/** A client and its $connect event; `ca` trusts the listener's certificate. */
async function connect(gw, backend, ca) {
  const tag = randomUUID();
  const ws = new WebSocket(`${gw.wsUrl}?tag=${tag}`, ca ? { ca } : {});
  const messages = [];
  let wake = null;
  ws.on("message", (data) => { messages.push(data.toString()); wake?.(); });
  const closed = new Promise((res) => ws.on("close", (code) => res(code)));
  await new Promise((res, reject) => { ws.once("open", res); ws.once("error", reject); });
  const event = await backend.waitFor(
    (e) => e.requestContext?.eventType === "CONNECT" && e.queryStringParameters?.tag === tag,
  );
  const next = () => new Promise((res, reject) => {
    const timer = setTimeout(() => reject(new Error("no message in time")), WAIT);
    const take = () => { if (messages.length) { clearTimeout(timer); wake = null; res(messages.shift()); } };
    wake = take;
    take();
  });
  return { ws, event, next, closed };
}

describe("@connections on the WebSocket listener", () => {
  const cleanups = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function gateway(options) {
    const backend = await startBackend();
    const gw = await startGateway(config(backend, options), { env: backend.gatewayEnv() });
    cleanups.push(async () => {
      const code = await gw.stop();
      await backend.close();
      assert.equal(code, 0, `switchboard did not exit 0 on SIGTERM: ${gw.stderr()}`);
    });
    return { backend, gw, port: new URL(gw.wsUrl).port };
  }

  test("over TLS, signed, with the certificate trusted through NODE_EXTRA_CA_CERTS", async () => {
    const tls = await selfSigned();
    const { backend, gw, port } = await gateway({ tls, auth: "sigv4" });
    assert.ok(gw.wsUrl.startsWith("wss://"), gw.wsUrl);
    const client = await connect(gw, backend, readFileSync(tls.cert));
    const ctx = client.event.requestContext;
    assert.equal(ctx.domainName, `127.0.0.1:${port}`);
    assert.equal(client.event.headers["X-Forwarded-Proto"], "https");
    assert.equal(client.event.headers["X-Forwarded-Port"], port);
    const call = (credentials) =>
      run(process.execPath, [join(HERE, "sdk-call.mjs")], {
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: tls.cert,
          ENDPOINT: `https://${ctx.domainName}/${ctx.stage}`,
          CONNECTION_ID: ctx.connectionId,
          MESSAGE: "from the SDK over TLS",
          KEY: credentials.accessKeyId,
          SECRET: credentials.secretAccessKey,
        },
      }).then(
        ({ stdout }) => JSON.parse(stdout),
        (e) => JSON.parse(e.stdout),
      );
    const refused = await call({ accessKeyId: "AKIDSTRANGER", secretAccessKey: "nope" });
    assert.deepEqual(refused, { error: "UnrecognizedClientException", status: 403 });
    const result = await call(KEY);
    assert.deepEqual(result, { sourceIp: "127.0.0.1" });
    assert.equal(await client.next(), "from the SDK over TLS");
    assert.equal(await client.closed, 1000);
  });

  test("over plain HTTP", async () => {
    const { backend, gw, port } = await gateway({});
    const client = await connect(gw, backend);
    const ctx = client.event.requestContext;
    assert.equal(client.event.headers["X-Forwarded-Proto"], "http");
    const sdk = mgmtClient(`http://${ctx.domainName}/${ctx.stage}`);
    try {
      assert.equal(ctx.domainName, `127.0.0.1:${port}`);
      await sdk.send(new PostToConnectionCommand({ ConnectionId: ctx.connectionId, Data: Buffer.from("plain") }));
      assert.equal(await client.next(), "plain");
    } finally {
      sdk.destroy();
      client.ws.terminate();
    }
  });
});
