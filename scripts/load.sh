#!/usr/bin/env bash
# Loopback load benchmarks for BENCHMARKS.md, each with its baseline in the same run: ospbox and
# a bare net/http server that answers the same bytes (for discovery also one that answers with
# ospbox's headers too), driven by testdata/loadgen in a separate process (32 connections);
# provisioning also against testdata/sqlitebaseline (the SQLite write limit), and discovery also
# under wrk when it is installed (with a third baseline that sends each answer in one write, as
# ospbox does). Also ospbox's RSS idle and after 100,000 resources
# (SKIP_100K=1 skips) and with 999 idle namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${DURATION:-10s}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# OSPBOX_BIN measures a binary built elsewhere (scripts/ab.sh: another commit) instead of this tree.
if [ -n "${OSPBOX_BIN:-}" ]; then cp "$OSPBOX_BIN" "$work/ospbox"; else go build -o "$work/ospbox" .; fi
go build -o "$work/loadgen" ./testdata/loadgen
go build -o "$work/bytes" ./testdata/bytesserver
go build -o "$work/sqlitebaseline" ./testdata/sqlitebaseline

# launch NAME BINARY ARGS…: start a server in the background; its address lands in $addr.
launch() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>/dev/null &
  pids+=($!)
  last_pid=$!
  for _ in $(seq 100); do
    addr=$(grep -o 'sandbox host *http://[0-9.:]*' "$work/$name.out" 2>/dev/null | grep -o 'http://.*' || true)
    [ -n "$addr" ] && return
    sleep 0.1
  done
  echo "could not start $name" >&2; exit 1
}
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' "/proc/$1/status"; }

launch ospbox "$work/ospbox" serve --workspace "$work/ws" --addr 127.0.0.1:0
osp=$addr; osp_pid=$last_pid
sleep 0.5
echo "ospbox idle RSS: $(rss "$osp_pid")"
curl -s "$osp/providers/acmedb/.well-known/osp.json" -D "$work/manifest.head" -o "$work/manifest.json"
launch bytes "$work/bytes" -file "$work/manifest.json"
base=$addr; base_pid=$last_pid
# The same answer on the wire: ospbox's headers too (five the spec requires, and Content-Length).
launch bytes-headers "$work/bytes" -file "$work/manifest.json" -headers "$work/manifest.head"
base_headers=$addr; base_headers_pid=$last_pid
names() { curl -s -D - -o /dev/null "$1" | tr -d '\r' | cut -d: -f1 | sort; }
if ! diff <(names "$osp/providers/acmedb/.well-known/osp.json") <(names "$base_headers/x") >/dev/null; then
  echo "the baseline's headers differ from ospbox's" >&2; exit 1
fi

echo "GET /.well-known/osp.json, 32 connections, $dur each:"
echo "  ospbox:   $("$work/loadgen" -url "$osp/providers/acmedb/.well-known/osp.json" -c 32 -d "$dur")"
echo "  baseline: $("$work/loadgen" -url "$base/x" -c 32 -d "$dur")"
echo "  baseline with ospbox's headers: $("$work/loadgen" -url "$base_headers/x" -c 32 -d "$dur")"

body='{"offering_id":"acmedb/redis","tier_id":"free"}'
curl -s -X POST "$osp/providers/acmedb/osp/v1/provision" -H 'Content-Type: application/json' -d "$body" -o "$work/provision.json"
launch bytes201 "$work/bytes" -file "$work/provision.json" -status 201
base2=$addr
echo "POST /osp/v1/provision, 32 connections, $dur each:"
echo "  ospbox:   $("$work/loadgen" -url "$osp/providers/acmedb/osp/v1/provision" -method POST -body "$body" -status 201 -c 32 -d "$dur")"
echo "  baseline: $("$work/loadgen" -url "$base2/x" -method POST -body "$body" -status 201 -c 32 -d "$dur")"
# The write limit: the same inserts as one provisioning through the same group commit, nothing else.
mkdir -p "$work/sqlite"
launch sqlite "$work/sqlitebaseline" -file "$work/provision.json" -dir "$work/sqlite"
echo "  sqlite:   $("$work/loadgen" -url "$addr/x" -method POST -body "$body" -status 201 -c 32 -d "$dur")"

# A second, leaner load generator (Debian's wrk, C and epoll) for discovery: loadgen is Go and
# shares the two cores with the server, so its own cost weighs on both sides differently.
if command -v wrk >/dev/null; then
  # wrkrate URL PID: throughput, p99 and the server's CPU time per request (from /proc).
  cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  wrkrate() {
    local t0 out
    t0=$(cputicks "$2")
    out=$(wrk -t2 -c32 -d"$dur" --latency "$1")
    echo "$out" | awk -v ticks=$(($(cputicks "$2") - t0)) -v hz="$(getconf CLK_TCK)" '
      /requests in/ {n = $1} /Requests\/sec/ {r = $2} /^ +99%/ {p = $2}
      END {printf "rps=%.0f p99=%s cpu_us_per_req=%.1f", r, p, ticks * 1e6 / hz / n}'
  }
  echo "GET /.well-known/osp.json under wrk, 2 threads, 32 connections, $dur each:"
  echo "  ospbox:   $(wrkrate "$osp/providers/acmedb/.well-known/osp.json" "$osp_pid")"
  echo "  baseline: $(wrkrate "$base/x" "$base_pid")"
  echo "  baseline with ospbox's headers: $(wrkrate "$base_headers/x" "$base_headers_pid")"
  # ospbox sends discovery in one write (kernel.OneWrite); so does this one: what is left is ospbox's own work.
  launch bytes-one-write "$work/bytes" -file "$work/manifest.json" -headers "$work/manifest.head" -one-write
  echo "  baseline with ospbox's headers, in one write: $(wrkrate "$addr/x" "$last_pid")"
else
  echo "wrk is not installed (apt-get install wrk): the wrk figures are skipped"
fi

# 999 idle namespaces made through the API, as a harness makes them, on a fresh ospbox whose idle
# RSS is the baseline (target: under 150 MiB). SKIP_NAMESPACES=1 skips.
if [ -z "${SKIP_NAMESPACES:-}" ]; then
  launch ospbox-ns "$work/ospbox" serve --workspace "$work/ws-ns" --addr 127.0.0.1:0
  ns=$addr; ns_pid=$last_pid
  curl -s "$ns/.well-known/osp.json" -o /dev/null
  idle=$(rss "$ns_pid")
  # One curl, one connection: a config file with a block per create ("next" starts the next).
  for i in $(seq 999); do
    [ "$i" = 1 ] || echo next
    printf 'url = "%s/ospbox/v1/namespaces"\ndata = "{\\"id\\": \\"load-%s\\"}"\n' "$ns" "$i"
    printf 'header = "Content-Type: application/json"\noutput = "/dev/null"\nfail\n'
  done >"$work/ns.curl"
  curl -sS -K "$work/ns.curl"
  echo "ospbox RSS with 999 idle namespaces: $(rss "$ns_pid") (idle before: $idle)"
fi

if [ -z "${SKIP_100K:-}" ]; then
  count() { curl -s "$osp/providers/acmedb/osp/v1/cost-summary" >/dev/null; go run ./testdata/count "$work/ws/.ospbox/state.db"; }
  have=$(count)
  if [ "$have" -lt 100000 ]; then
    "$work/loadgen" -url "$osp/providers/acmedb/osp/v1/provision" -method POST -body "$body" -status 201 -c 32 -d 900s -n $((100000 - have)) >/dev/null
  fi
  echo "ospbox RSS with $(count) resources: $(rss "$osp_pid")"
fi
