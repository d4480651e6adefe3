// Helpers of the JS compatibility tests: run the built gateway, a one-API config whose routes
// invoke Lambda handlers (lambda-backend.mjs) and `ws` clients. Loopback only.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import WebSocket from "ws";

export { startBackend } from "./lambda-backend.mjs";

export const WAIT = 15_000;
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function switchboardBin() {
  const bin =
    process.env.SWITCHBOARD_BIN ||
    join(process.env.CARGO_TARGET_DIR || join(REPO, "target"), "debug", "switchboard");
  if (!existsSync(bin)) {
    throw new Error(`switchboard binary not found at ${bin}: run \`cargo build -p switchboard\` or set SWITCHBOARD_BIN`);
  }
  return bin;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/**
 * Starts `switchboard serve --config` on `configText` with `env` added to this process's
 * environment; resolves once both addresses are printed.
 */
export async function startGateway(configText, { env = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-js-"));
  const config = join(dir, "switchboard.toml");
  writeFileSync(config, configText);
  const stderrPath = join(dir, "stderr.log");
  const proc = spawn(switchboardBin(), ["serve", "--config", config], {
    cwd: dir,
    stdio: ["ignore", "pipe", openSync(stderrPath, "w")],
    env: { ...process.env, ...env },
  });
  const exited = new Promise((res) => proc.on("exit", (code, signal) => res({ code, signal })));
  const lines = [];
  const gw = { proc, lines, wsUrls: [], mgmtUrl: null };
  const ready = new Promise((res, reject) => {
    createInterface({ input: proc.stdout }).on("line", (line) => {
      lines.push(line);
      if (line.startsWith("listening on ")) gw.wsUrls.push(line.split(" ").at(-1));
      if (line.startsWith("management API on ")) {
        gw.mgmtUrl = line.split(" ").at(-1);
        res();
      }
    });
    exited.then(({ code }) =>
      reject(new Error(`switchboard exited (${code}) before starting: ${readFileSync(stderrPath, "utf8")}`)),
    );
  });
  try {
    await withTimeout(ready, 30_000, "switchboard to print its addresses");
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  }
  gw.wsUrl = gw.wsUrls[0];
  gw.endpoint = `${gw.mgmtUrl}/dev`;
  /** SIGTERM; resolves with the exit code (null if it had to be killed). */
  gw.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
    try {
      const { code } = await withTimeout(exited, 30_000, "switchboard to exit");
      return code;
    } catch {
      proc.kill("SIGKILL");
      return null;
    }
  };
  gw.stderr = () => readFileSync(stderrPath, "utf8");
  return gw;
}

/**
 * Config: one API whose $connect/$disconnect/$default invoke the backend's function through the
 * Lambda Invoke API (start the gateway with `{ env: backend.gatewayEnv() }`), or with `plainUrl`
 * POST to its plain URL (the http:// integrationUri extension).
 */
export function apiConfig(backend, { auth = "none", credentials = [], region, plainUrl = false } = {}) {
  const lines = ["[server]", 'listen = "127.0.0.1:0"', "[management]", 'listen = "127.0.0.1:0"', `auth = "${auth}"`];
  for (const c of credentials) {
    lines.push("[[management.credentials]]", `accessKeyId = "${c.accessKeyId}"`, `secretAccessKey = "${c.secretAccessKey}"`);
  }
  if (region) lines.push("[aws]", `region = "${region}"`);
  lines.push("[aws.endpoints]", `lambda = "${backend.url}"`);
  lines.push(
    "[apis.compat]",
    'routeSelectionExpression = "$request.body.action"',
    "[apis.compat.stages.dev]",
    "[apis.compat.integrations.lambda]",
    'integrationType = "AWS_PROXY"',
    `integrationUri = "${plainUrl ? `${backend.url}/lambda` : backend.functionArn()}"`,
    '[apis.compat.routes."$connect"]',
    'target = "integrations/lambda"',
    '[apis.compat.routes."$disconnect"]',
    'target = "integrations/lambda"',
    '[apis.compat.routes."$default"]',
    'target = "integrations/lambda"',
  );
  return lines.join("\n") + "\n";
}

/** An SDK v3 client on the gateway; one attempt per call. */
export function mgmtClient(endpoint, { accessKeyId = "AKIDDUMMYJS", secretAccessKey = "dummy", region = "us-east-1" } = {}) {
  return new ApiGatewayManagementApiClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
}

/** Connects a `ws` client; resolves { ws, id, next(), closed }. */
export async function connectClient(gw, backend, userAgent = "compat-js/1.0") {
  const tag = randomUUID();
  const ws = new WebSocket(`${gw.wsUrl}?tag=${tag}`, { headers: { "User-Agent": userAgent }, maxPayload: 1 << 20 });
  const queue = [];
  let wake = null;
  ws.on("message", (data, isBinary) => {
    queue.push({ data: Buffer.from(data), isBinary });
    wake?.();
  });
  const closed = new Promise((res) => ws.on("close", (code, reason) => res({ code, reason: reason.toString() })));
  await withTimeout(
    new Promise((res, reject) => { ws.once("open", res); ws.once("error", reject); }),
    WAIT,
    "the WebSocket to open",
  );
  const event = await backend.waitFor(
    (e) => e.requestContext?.eventType === "CONNECT" && e.queryStringParameters?.tag === tag,
  );
  const next = () =>
    withTimeout(
      new Promise((res) => {
        const take = () => { if (queue.length) { wake = null; res(queue.shift()); } };
        wake = take;
        take();
      }),
      WAIT,
      "a WebSocket message",
    );
  return { ws, id: event.requestContext.connectionId, next, closed };
}
