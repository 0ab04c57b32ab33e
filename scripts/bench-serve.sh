#!/usr/bin/env bash
# Load test of `xpufleet serve` with wrk (Debian's `wrk`) from a second process: GET …/check and
# POST …/plan on the built-in example, over SQLite, or over PostgreSQL when DATABASE is a
# postgres:// URL. Usage: scripts/bench-serve.sh [DATABASE] [DURATION_S] [REPLICAS] [KILL]
# The token is a planner's (check and plan need it; a viewer's gets 403s), the rate limit is
# lifted, and each run prints its answers by status and the 2xx answers per second: only
# those count.
# Then a mixed load (4 reads of the scenario to 1 write of a new site record; not the check,
# which every new site changes and so recomputes) on REPLICAS servers
# (default 1) over the one database, one wrk per replica; with KILL=1 the last replica is
# killed with SIGKILL halfway. Afterwards every write that was answered 2xx must be in the
# audit trail (`xpufleet audit export`) and `xpufleet audit verify` must pass: 0 lost or
# unaudited writes. BIN names the binary (default target/release/xpufleet).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${1:-}
DUR=${2:-10}
REPLICAS=${3:-1}
KILL=${4:-0}
BIN=${BIN:-target/release/xpufleet}
WORK=$(mktemp -d)
[ -n "$DB" ] || DB="sqlite://$WORK/bench.db"
PORT=${PORT:-18181}
TOKEN=$($BIN token create --role planner --name bench --database "$DB" | tail -n 1)
PIDS=()
for r in $(seq 1 "$REPLICAS"); do
  $BIN serve --addr 127.0.0.1:$((PORT + r - 1)) --database "$DB" --rate-limit 100000000 \
    --log-format off 2>"$WORK/serve-$r.log" &
  PIDS+=($!)
  sleep 1
done
PID=${PIDS[0]}
trap '[ ${#PIDS[@]} = 0 ] || kill -TERM "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
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

# The mixed load: one wrk per replica, each thread numbering its own writes.
cat >"$WORK/mixed.lua" <<'LUA'
local threads, n = {}, 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
  table.insert(threads, thread)
end
function init(args)
  statuses, acked, count = {}, {}, 0
  check = args[1]
end
function request()
  count = count + 1
  if count % 5 == 0 then
    local id = string.format("bench-%s-%d-%d", os.getenv("LABEL"), tid, count)
    local body = string.format('{"id":"%s","name":"b","country":"US","region":"Virginia",'
      .. '"tenure":"owned","owner":"acme-ai","operator":"acme-ai","power_mw":40,"pue":1.3,'
      .. '"electricity_per_kwh":{"amount":0.08,"currency":"USD"}}', id)
    -- The headers given replace wrk's (the token among them): copied, plus the body's type.
    local h = {}
    for k, v in pairs(wrk.headers) do h[k] = v end
    h["Content-Type"] = "application/json"
    return wrk.format("PUT", "/api/v1/sites/" .. id, h, body)
  end
  return wrk.format("GET", check)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    local id = body:match('"id":"(bench%-[%w%-]+)"')
    if id then acked[#acked + 1] = id end
  end
end
function done(summary, latency, requests)
  local total, ok, out = {}, 0, io.open(os.getenv("ACKED"), "w")
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
    for _, id in ipairs(t:get("acked")) do out:write(id, "\n") end
  end
  out:close()
  for k, v in pairs(total) do
    io.write(string.format("status %d: %d answers\n", k, v))
    if k >= 200 and k < 300 then ok = ok + v end
  end
  io.write(string.format("2xx per second: %.0f\n", ok / (summary.duration / 1e6)))
end
LUA
echo "== mixed: 4 GET scenario to 1 PUT site, $REPLICAS replica(s), kill -9 of the last: $KILL ($DB)"
WRKS=()
for r in $(seq 1 "$REPLICAS"); do
  LABEL=r$r ACKED="$WORK/acked-$r" wrk -t2 -c16 -d"${DUR}s" --latency -s "$WORK/mixed.lua" \
    -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$((PORT + r - 1))" \
    -- "/api/v1/scenarios/$ID" >"$WORK/wrk-$r.txt" 2>&1 &
  WRKS+=($!)
done
if [ "$KILL" = 1 ]; then
  sleep $((DUR / 2))
  kill -KILL "${PIDS[-1]}"
  echo "killed replica $REPLICAS (pid ${PIDS[-1]}) with SIGKILL after $((DUR / 2)) s"
fi
wait "${WRKS[@]}" || true
for r in $(seq 1 "$REPLICAS"); do echo "-- replica $r"; cat "$WORK/wrk-$r.txt"; done
kill -TERM "${PIDS[@]}" 2>/dev/null || true
wait "${PIDS[@]}" 2>/dev/null || true
PIDS=()
cat "$WORK"/acked-* | sort -u >"$WORK/acked"
$BIN audit export --database "$DB" --out "$WORK/trail.jsonl"
grep -o '"resource":"/api/v1/sites/bench-[^"]*"' "$WORK/trail.jsonl" \
  | sed 's|.*/sites/\(bench-[^"]*\)"|\1|' | sort -u >"$WORK/audited" || true
LOST=$(comm -23 "$WORK/acked" "$WORK/audited" | wc -l)
echo "writes answered 2xx: $(wc -l <"$WORK/acked"); in the audit trail: $(wc -l <"$WORK/audited"); answered but not in the trail: $LOST"
$BIN audit verify --database "$DB"
echo "audit verify: exit $?"
[ "$LOST" = 0 ]
