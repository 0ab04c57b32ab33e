#!/usr/bin/env bash
# Load test of `xpufleet serve` with wrk (Debian's `wrk`) from a second process: GET …/check and
# POST …/plan on the built-in example, over SQLite, or over PostgreSQL when DATABASE is a
# postgres:// URL. Usage: scripts/bench-serve.sh [DATABASE] [DURATION_S]
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-}
DUR=${2:-10}
BIN=target/release/xpufleet
WORK=$(mktemp -d)
[ -n "$DB" ] || DB="sqlite://$WORK/bench.db"
PORT=${PORT:-18181}
TOKEN=$($BIN token create --role viewer --name bench --database "$DB" | tail -n 1)
$BIN serve --addr 127.0.0.1:$PORT --database "$DB" 2>"$WORK/serve.log" &
PID=$!
trap 'kill -TERM $PID; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1
URL=http://127.0.0.1:$PORT/api/v1
ID=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/toml' \
  --data-binary @examples/capex-2025.toml "$URL/scenarios" | sed 's/.*"id":"\([^"]*\)".*/\1/')
# The first answer computes and stores; wrk then measures answers to the same question.
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/scenarios/$ID/check"
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/scenarios/$ID/plan"
echo "== GET check ($DB)"
wrk -t2 -c32 -d"${DUR}s" --latency -H "Authorization: Bearer $TOKEN" "$URL/scenarios/$ID/check"
echo "== POST plan ($DB)"
cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
LUA
wrk -t2 -c32 -d"${DUR}s" --latency -s "$WORK/post.lua" -H "Authorization: Bearer $TOKEN" \
  "$URL/scenarios/$ID/plan"
