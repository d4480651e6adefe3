// Test handler for switchboard-lambda: what it does is chosen by the event's `action`.
// A WebSocket proxy event (from the gateway) gets a proxy reply built from its body.
const fs = require("node:fs");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.handler = async (event, context) => {
  if (event.requestContext) {
    const { routeKey } = event.requestContext;
    if (routeKey === "$connect" || routeKey === "$disconnect") return { statusCode: 200 };
    const message = JSON.parse(event.body);
    return { statusCode: 200, body: `node says ${message.text} (pid ${process.pid})` };
  }
  switch (event.action) {
    case "whoami":
      return {
        pid: process.pid,
        event,
        functionName: context.functionName,
        functionVersion: context.functionVersion,
        memoryLimitInMB: context.memoryLimitInMB,
        invokedFunctionArn: context.invokedFunctionArn,
        awsRequestId: context.awsRequestId,
        logGroupName: context.logGroupName,
        remainingMs: context.getRemainingTimeInMillis(),
        clientCustom: context.clientContext?.custom ?? null,
        cwd: process.cwd(),
      };
    case "env":
      return Object.fromEntries(event.names.map((n) => [n, process.env[n] ?? null]));
    case "log":
      console.log(event.marker);
      return { logged: true };
    case "throw":
      throw new Error(event.message);
    case "exit":
      process.exit(3);
    case "hang":
      // A pending timer keeps the event loop busy (an empty loop would end the invocation).
      await sleep(3600 * 1000);
      return null;
    case "gate":
      // Holds its worker busy until the test creates `event.file`.
      while (!fs.existsSync(event.file)) await sleep(10);
      return { pid: process.pid };
    default:
      return { pid: process.pid };
  }
};
