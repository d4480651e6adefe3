// Benchmark handler: a WebSocket proxy event's body goes back as the two-way reply; any other
// event (a direct Invoke) is returned as it came.
exports.handler = async (event) =>
  event.requestContext ? { statusCode: 200, body: event.body } : event;
