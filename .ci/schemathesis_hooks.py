"""Schemathesis hooks for xpufleet's API (used by .ci/run): scenario and what-if bodies are
TOML (`application/toml`), which Schemathesis cannot serialise by itself. A generated string is
sent as is; anything else as an empty body (the server answers 400 with located problems)."""

import schemathesis


@schemathesis.serializer("application/toml")
def toml(ctx, value):
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return value
    return b""
