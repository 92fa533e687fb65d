#!/usr/bin/env bash
# A/B of scripts/load.sh between two commits in one window: builds both (the UI bundle of this
# tree is embedded in each), then runs the load alternately A B A B A B (RUNS pairs, 3 by
# default) and prints, for GET /.well-known/osp.json and POST /osp/v1/provision, each side's
# median throughput, p99 and ratio to the bare net/http baseline of its own run, and B/A.
#   scripts/ab.sh OLD_COMMIT [NEW_COMMIT]      (NEW defaults to the work tree)
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: scripts/ab.sh OLD_COMMIT [NEW_COMMIT]}
new=${2:-}
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/a" >/dev/null 2>&1 || true; git worktree remove --force "$work/b" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
make --no-print-directory assets >/dev/null
build() { # build COMMIT OUT: a clean checkout of COMMIT with this tree's UI bundle
  git worktree add --detach "$work/$2" "$1" >/dev/null 2>&1
  cp frontend/dist/* "$work/$2/frontend/dist/"
  (cd "$work/$2" && go build -o "$work/$2.bin" .)
}
build "$old" a
if [ -n "$new" ]; then build "$new" b; else go build -o "$work/b.bin" .; fi
for i in $(seq "$runs"); do
  for side in a b; do
    SKIP_100K=1 OSPBOX_BIN="$work/$side.bin" scripts/load.sh >"$work/$side.$i.txt"
  done
done
python3 - "$work" "$runs" <<'PY'
import re, statistics, sys
work, runs = sys.argv[1], int(sys.argv[2])
def parse(path):
    out, section = {}, None
    for line in open(path):
        if line.startswith("GET"): section = "GET /.well-known/osp.json"
        elif line.startswith("POST"): section = "POST /osp/v1/provision"
        m = re.search(r"(ospbox|baseline):.*rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+)", line)
        if m and section:
            out[(section, m.group(1))] = (float(m.group(2)), float(m.group(4)))
    return out
data = {s: [parse(f"{work}/{s}.{i}.txt") for i in range(1, runs + 1)] for s in "ab"}
for section in ["GET /.well-known/osp.json", "POST /osp/v1/provision"]:
    print(section)
    med = {}
    for s, name in (("a", "A (old)"), ("b", "B (new)")):
        rps = [r[(section, "ospbox")][0] for r in data[s]]
        p99 = [r[(section, "ospbox")][1] for r in data[s]]
        ratio = [r[(section, "ospbox")][0] / r[(section, "baseline")][0] for r in data[s]]
        med[s] = statistics.median(rps)
        print(f"  {name}: {statistics.median(rps):8.0f} req/s  p99 {statistics.median(p99):6.2f} ms  "
              f"÷ baseline {statistics.median(ratio):.3f}   runs: {' '.join(f'{x:.0f}' for x in rps)}")
    print(f"  B/A throughput: {med['b'] / med['a']:.3f}")
PY
