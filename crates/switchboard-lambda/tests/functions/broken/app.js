// Fails while loading, like a handler whose dependency is missing.
require("a-package-that-is-not-installed");
exports.handler = async () => "unreachable";
