// AWS_PROXY through the Lambda Invoke API: the gateway's Lambda client and its SigV4 against a
// stand-in that checks every signature with the AWS SDK's own signer (lambda-backend.mjs), with
// JavaScript handlers. Also the plain-URL extension (integrationUri = "http://…").
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import WebSocket from "ws";
import { ACCOUNT, FUNCTION, REGION } from "./lambda-backend.mjs";
import { WAIT, startBackend, startGateway } from "./helpers.mjs";

const INTERNAL_ERROR =
  /^\{"message": "Internal server error", "connectionId":"[A-Za-z0-9_-]{15}=", "requestId":"[A-Za-z0-9_-]{15}="\}$/;

/** $connect and a two-way $default invoking `uri`. */
function twoWayConfig(backend, uri) {
  return `
[server]
listen = "127.0.0.1:0"
[management]
listen = "127.0.0.1:0"
[aws.endpoints]
lambda = "${backend.url}"
[apis.fn]
routeSelectionExpression = "$request.body.action"
[apis.fn.stages.dev]
[apis.fn.integrations.fn]
integrationType = "AWS_PROXY"
integrationUri = "${uri}"
[apis.fn.routes."$connect"]
target = "integrations/fn"
[apis.fn.routes."$default"]
target = "integrations/fn"
routeResponseSelectionExpression = "$default"
`;
}

/** Echoes a message upper-cased; throws on "boom". */
async function handler(event) {
  if (event.body === "boom") throw new TypeError("the handler failed on purpose");
  return { statusCode: 200, body: event.body?.toUpperCase() };
}

const running = [];
async function start(uri, { secret, handle = handler, plain = false } = {}) {
  const backend = await startBackend(handle);
  const gw = await startGateway(twoWayConfig(backend, uri(backend)), { env: plain ? {} : backend.gatewayEnv(secret) });
  running.push({ backend, gw });
  return { backend, gw };
}

afterEach(async () => {
  for (const { backend, gw } of running.splice(0)) {
    const code = await gw.stop();
    await backend.close();
    assert.equal(code, 0, `switchboard did not exit 0 on SIGTERM: ${gw.stderr()}`);
  }
});

/** Opens a client; resolves { ws, next() } or rejects with the refused status. */
function open(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const queue = [];
    let wake = null;
    ws.on("message", (data) => {
      queue.push(data.toString("utf8"));
      wake?.();
    });
    ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode })));
    ws.once("error", reject);
    ws.once("open", () =>
      resolve({
        ws,
        next: () =>
          new Promise((res, rej) => {
            const timer = setTimeout(() => rej(new Error("no message within the wait")), WAIT);
            const take = () => {
              if (queue.length) {
                clearTimeout(timer);
                wake = null;
                res(queue.shift());
              }
            };
            wake = take;
            take();
          }),
      }),
    );
  });
}

for (const [form, uri] of [
  ["a function ARN", (b) => b.functionArn(FUNCTION, "live")],
  [
    "the API Gateway ARN form",
    () => `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION}:live/invocations`,
  ],
]) {
  test(`handlers run behind the signed Invoke API (${form}) and two-way replies come back`, async () => {
    const { backend, gw } = await start(uri);
    const c = await open(`${gw.wsUrl}?tag=js1`);
    c.ws.send('{"text": "héllo ✓"}');
    assert.equal(await c.next(), '{"TEXT": "HÉLLO ✓"}');
    c.ws.terminate();
    const [connect, message] = backend.events;
    for (const e of [connect, message]) {
      assert.deepEqual([e._via, e._function, e._qualifier], ["invoke", FUNCTION, "live"]);
    }
    assert.equal(connect.requestContext.eventType, "CONNECT");
    assert.deepEqual(connect.queryStringParameters, { tag: "js1" });
    assert.equal(message.requestContext.eventType, "MESSAGE");
    assert.equal(message.body, '{"text": "héllo ✓"}');
    assert.deepEqual(backend.refusals, []);
  });
}

test("a thrown error is an Unhandled function error: Internal server error, and the connection keeps working", async () => {
  const { backend, gw } = await start((b) => b.functionArn());
  const c = await open(gw.wsUrl);
  c.ws.send("boom");
  assert.match(await c.next(), INTERNAL_ERROR);
  c.ws.send("still here");
  assert.equal(await c.next(), "STILL HERE");
  c.ws.terminate();
  assert.deepEqual(backend.refusals, []);
});

test("a function error on $connect refuses the upgrade with 502", async () => {
  const refuseConnect = async (e) => {
    if (e.requestContext.eventType === "CONNECT") throw new Error("no entry");
    return null;
  };
  const { backend, gw } = await start((b) => b.functionArn(), { handle: refuseConnect });
  await assert.rejects(open(gw.wsUrl), (err) => err.status === 502);
  await backend.waitFor((e) => e.requestContext.eventType === "CONNECT");
});

test("a wrong secret is refused by the Invoke API (403 InvalidSignatureException) and no handler runs", async () => {
  const { backend, gw } = await start((b) => b.functionArn(), { secret: "not-the-secret" });
  // A 5xx: which one is the gateway's error-side rule, not the Invoke API's.
  await assert.rejects(open(gw.wsUrl), (err) => err.status >= 500);
  const refusal = await backend.waitRefusal();
  assert.deepEqual([refusal.status, refusal.errorType], [403, "InvalidSignatureException"]);
  assert.match(refusal.message, /signature we calculated does not match/);
  assert.deepEqual(backend.events, []);
});

test("the plain-URL extension POSTs the same events without signing", async () => {
  const { backend, gw } = await start((b) => `${b.url}/lambda`, { plain: true });
  const c = await open(`${gw.wsUrl}?tag=js2`);
  c.ws.send("plain");
  assert.equal(await c.next(), "PLAIN");
  c.ws.send("boom"); // the URL answers 500: a function error
  assert.match(await c.next(), INTERNAL_ERROR);
  c.ws.terminate();
  const [connect, message] = backend.events;
  assert.deepEqual([connect, message].map((e) => [e._via, e._path]), [["url", "/lambda"], ["url", "/lambda"]]);
  assert.deepEqual(connect.queryStringParameters, { tag: "js2" });
  assert.equal(message.body, "plain");
});
