// Lambda handlers for the JS compatibility tests, served the two ways the gateway invokes them:
// - the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`, SigV4 for service
//   `lambda`): each call is re-signed with the AWS SDK's own signer (@smithy/signature-v4) over
//   what was received and compared; a wrong signature is answered as Lambda does (403
//   InvalidSignatureException), an unknown function 404 ResourceNotFoundException, and a handler
//   that throws 200 with `X-Amz-Function-Error: Unhandled` and Lambda's error payload;
// - the plain-URL extension (`integrationUri = "http://…"`): any other POST path; a handler that
//   throws answers 500.
// Every event a handler sees is recorded with `_via` ("invoke" or "url") and `_path`. Loopback only.
import { timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { Sha256 } from "@smithy/core/checksum";
import { SignatureV4 } from "@smithy/signature-v4";

export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";
export const FUNCTION = "compat-handler";
const INVOKE_PATH = "/2015-03-31/functions/";
const MAX_EVENT_BYTES = 6 * 1024 * 1024; // Lambda's own request payload limit
const CLOCK_SKEW_MS = 15 * 60 * 1000; // how far X-Amz-Date may be from now, as AWS allows

// The key the gateway signs Invoke calls with (temporary credentials, so the session token
// header is exercised as well).
export const CREDENTIALS = {
  accessKeyId: "ASIACOMPATLAMBDAJS",
  secretAccessKey: "js-lambda/Secret+Key/0123456789EXAMPLE",
  sessionToken: "FwoGZXIvYXdzEXAMPLE//js+lambda=token",
};

class Refused extends Error {
  constructor(status, errorType, message) {
    super(message);
    Object.assign(this, { status, errorType });
  }
}

function parseAuthorization(header) {
  const [algorithm, ...rest] = header.split(" ");
  if (algorithm !== "AWS4-HMAC-SHA256") throw new Refused(403, "IncompleteSignatureException", `unsupported algorithm ${algorithm}`);
  const fields = Object.fromEntries(
    rest.join(" ").split(",").map((p) => {
      const at = p.indexOf("=");
      return [p.slice(0, at).trim(), p.slice(at + 1).trim()];
    }),
  );
  if (!fields.Credential || !fields.SignedHeaders || !fields.Signature) {
    throw new Refused(403, "IncompleteSignatureException", `incomplete Authorization: ${header}`);
  }
  return fields;
}

/** 20261126T004352Z → Date, or null. */
function parseAmzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? "");
  return m ? new Date(Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

/** Throws `Refused` unless `req` carries a valid SigV4 signature for service `lambda`. */
async function checkSignature(req, url, body, credentials) {
  const header = req.headers.authorization;
  if (!header) throw new Refused(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
  const auth = parseAuthorization(header);
  const [key, date, region, service, terminator] = auth.Credential.split("/");
  const amzDate = req.headers["x-amz-date"];
  const signed = auth.SignedHeaders.split(";");
  const problems = [];
  if (key !== credentials.accessKeyId) problems.push(`unknown access key ${key}`);
  if (`${region}/${service}/${terminator}` !== `${REGION}/lambda/aws4_request`) {
    problems.push(`credential scope ${region}/${service}/${terminator}, expected ${REGION}/lambda/aws4_request`);
  }
  if (date !== amzDate?.slice(0, 8)) problems.push(`scope date ${date} is not the X-Amz-Date ${amzDate}`);
  const required = ["host", "x-amz-date", ...(credentials.sessionToken ? ["x-amz-security-token"] : [])];
  for (const name of required) if (!signed.includes(name)) problems.push(`${name} is not signed (${signed})`);
  if (credentials.sessionToken && req.headers["x-amz-security-token"] !== credentials.sessionToken) {
    problems.push("wrong or missing X-Amz-Security-Token");
  }
  const when = parseAmzDate(amzDate);
  if (!when) problems.push(`bad X-Amz-Date ${amzDate}`);
  else if (Math.abs(Date.now() - when.getTime()) > CLOCK_SKEW_MS) problems.push(`X-Amz-Date ${amzDate} is more than 15 minutes from now`);
  if (problems.length) throw new Refused(403, "InvalidSignatureException", problems.join("; "));

  // The SDK's signer re-signs what arrived: method, path, query, the signed headers, the body.
  const headers = {};
  for (const name of signed) headers[name] = req.headers[name] ?? "";
  const signer = new SignatureV4({ credentials, region: REGION, service: "lambda", sha256: Sha256, applyChecksum: false });
  const resigned = await signer.sign(
    {
      method: req.method,
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
    },
    { signingDate: when, signableHeaders: new Set(signed) },
  );
  const expected = /Signature=([0-9a-f]+)/.exec(resigned.headers.authorization)?.[1] ?? "";
  const expectedSigned = /SignedHeaders=([^,]+)/.exec(resigned.headers.authorization)?.[1];
  if (expectedSigned !== auth.SignedHeaders) {
    throw new Refused(403, "InvalidSignatureException", `SignedHeaders ${auth.SignedHeaders} do not match the headers sent`);
  }
  const a = Buffer.from(expected);
  const b = Buffer.from(auth.Signature);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw new Refused(
      403,
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
    );
  }
}

/**
 * Starts the stand-in. `handler(event)` returns the proxy reply (default {statusCode: 200}) or
 * throws; `functions` are the names the Invoke API knows.
 */
export async function startBackend(handler = null, { functions = [FUNCTION], credentials = CREDENTIALS } = {}) {
  const events = [];
  const refusals = [];
  let waiters = [];
  const record = (list, item) => {
    list.push(item);
    waiters = waiters.filter((w) => !w());
  };
  const send = (res, status, payload, headers = {}) => {
    const data = JSON.stringify(payload);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data), ...headers });
    res.end(data);
  };
  const call = async (event) => (await handler?.(event)) ?? { statusCode: 200 };

  const invoke = async (req, res, url, body) => {
    let name, qualifier, event;
    try {
      const segment = url.pathname.slice(INVOKE_PATH.length).replace(/\/invocations$/, "");
      if (segment.includes("/") || !url.pathname.endsWith("/invocations")) {
        throw new Refused(404, "UnknownOperationException", `no operation at ${url.pathname}`);
      }
      name = decodeURIComponent(segment);
      // The path as the AWS SDKs write it (unreserved characters unescaped).
      const sdk = encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
      if (segment !== sdk) {
        throw new Refused(400, "InvalidRequestContentException", `function name encoded as ${segment}, the AWS SDKs send ${sdk}`);
      }
      const unexpected = [...url.searchParams.keys()].filter((k) => k !== "Qualifier");
      if (unexpected.length) throw new Refused(400, "InvalidParameterValueException", `unexpected query ${url.search}`);
      qualifier = url.searchParams.get("Qualifier");
      if ((req.headers["x-amz-invocation-type"] ?? "RequestResponse") !== "RequestResponse") {
        throw new Refused(400, "InvalidParameterValueException", "expected a RequestResponse invocation");
      }
      await checkSignature(req, url, body, credentials);
      if (!functions.includes(name)) {
        throw new Refused(404, "ResourceNotFoundException", `Function not found: arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`);
      }
      try {
        event = JSON.parse(body.toString("utf8"));
      } catch (e) {
        throw new Refused(400, "InvalidRequestContentException", `Could not parse request body into json: ${e.message}`);
      }
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      record(refusals, e);
      send(res, e.status, { Type: "User", message: e.message }, { "x-amzn-errortype": e.errorType });
      return;
    }
    Object.assign(event, { _via: "invoke", _path: req.url, _function: name, _qualifier: qualifier });
    record(events, event);
    let reply;
    try {
      reply = await call(event);
    } catch (e) {
      send(
        res,
        200,
        { errorMessage: e.message, errorType: e.name, stackTrace: (e.stack ?? "").split("\n").slice(1) },
        { "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" },
      );
      return;
    }
    send(res, 200, reply, { "x-amz-executed-version": "$LATEST" });
  };

  const plain = async (req, res, body) => {
    let event;
    try {
      event = JSON.parse(body.toString("utf8") || "{}");
    } catch (e) {
      send(res, 400, { message: `the event is not JSON: ${e.message}` });
      return;
    }
    Object.assign(event, { _via: "url", _path: req.url });
    record(events, event);
    try {
      send(res, 200, await call(event));
    } catch (e) {
      send(res, 500, { errorMessage: e.message, errorType: e.name });
    }
  };

  const server = createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size <= MAX_EVENT_BYTES) chunks.push(c);
    });
    req.on("end", () => {
      if (size > MAX_EVENT_BYTES) {
        send(res, 413, { message: "Request must be smaller than 6291456 bytes" });
        return;
      }
      const body = Buffer.concat(chunks);
      const url = new URL(req.url, `http://${req.headers.host}`);
      const done = url.pathname.startsWith(INVOKE_PATH) ? invoke(req, res, url, body) : plain(req, res, body);
      done.catch((e) => send(res, 500, { message: `stand-in failed: ${e.stack}` }));
    });
  });
  await new Promise((res) => server.listen(0, "127.0.0.1", res));
  const url = `http://127.0.0.1:${server.address().port}`;

  const waitFor = (list, pred, ms, what) =>
    new Promise((res, reject) => {
      const timer = setTimeout(() => {
        const refused = refusals.map((r) => `${r.status} ${r.errorType}: ${r.message}`);
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; refused calls: ${JSON.stringify(refused)}`));
      }, ms);
      const check = () => {
        const hit = list.find(pred);
        if (hit) {
          clearTimeout(timer);
          res(hit);
        }
        return Boolean(hit);
      };
      if (!check()) waiters.push(check);
    });

  return {
    url,
    events,
    refusals,
    functionArn: (name = FUNCTION, qualifier) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}${qualifier ? `:${qualifier}` : ""}`,
    /** The gateway's environment: the key it signs Invoke calls with (or a wrong `secret`). */
    gatewayEnv: (secret) => ({
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: secret ?? credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken ?? "",
    }),
    waitFor: (pred, ms = 15_000) => waitFor(events, pred, ms, "a backend event"),
    waitRefusal: (ms = 15_000) => waitFor(refusals, () => true, ms, "a refused Invoke call"),
    close: () => new Promise((res) => { server.closeAllConnections?.(); server.close(res); }),
  };
}
