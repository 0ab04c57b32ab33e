#!/usr/bin/env bash
# Load test of `xpufleet serve` with wrk (Debian's `wrk`) from a second process: GET …/check and
# POST …/plan on the built-in example, over SQLite, or over PostgreSQL when DATABASE is a
# postgres:// URL. Usage: scripts/bench-serve.sh [DATABASE] [DURATION_S]
# The token is a planner's (check and plan need it; a viewer's gets 403s), the rate limit is
# lifted, and each run prints its answers by status and the 2xx answers per second: only
# those count.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-}
DUR=${2:-10}
BIN=target/release/xpufleet
WORK=$(mktemp -d)
[ -n "$DB" ] || DB="sqlite://$WORK/bench.db"
PORT=${PORT:-18181}
TOKEN=$($BIN token create --role planner --name bench --database "$DB" | tail -n 1)
$BIN serve --addr 127.0.0.1:$PORT --database "$DB" --rate-limit 100000000 --log-format off \
  2>"$WORK/serve.log" &
PID=$!
trap 'kill -TERM $PID; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 1
URL=http://127.0.0.1:$PORT/api/v1
ID=$(curl -sf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/toml' \
  --data-binary @examples/capex-2025.toml "$URL/scenarios" | sed 's/.*"id":"\([^"]*\)".*/\1/')
# The first answer computes and stores; wrk then measures answers to the same question.
curl -sf -o /dev/null -H "Authorization: Bearer $TOKEN" "$URL/scenarios/$ID/check"
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/scenarios/$ID/plan"
# Counts answers by status in every thread and prints them with the 2xx rate at the end.
cat >"$WORK/count.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total, ok = {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do
    io.write(string.format("status %d: %d answers\n", k, v))
    if k >= 200 and k < 300 then ok = ok + v end
  end
  io.write(string.format("2xx per second: %.0f\n", ok / (summary.duration / 1e6)))
end
LUA
sed 's/^local threads/wrk.method = "POST"\nlocal threads/' "$WORK/count.lua" >"$WORK/post.lua"
echo "== GET check ($DB)"
wrk -t2 -c32 -d"${DUR}s" --latency -s "$WORK/count.lua" -H "Authorization: Bearer $TOKEN" \
  "$URL/scenarios/$ID/check"
echo "== POST plan ($DB)"
wrk -t2 -c32 -d"${DUR}s" --latency -s "$WORK/post.lua" -H "Authorization: Bearer $TOKEN" \
  "$URL/scenarios/$ID/plan"
echo "== GET scenario ($DB)"
wrk -t2 -c32 -d"${DUR}s" --latency -s "$WORK/count.lua" -H "Authorization: Bearer $TOKEN" \
  "$URL/scenarios/$ID"
