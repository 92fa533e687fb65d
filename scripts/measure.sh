#!/usr/bin/env bash
# Build and size figures for BENCHMARKS.md: cold and warm build times (cold = empty build cache,
# modules already downloaded), binary sizes of the browser and desktop builds, and the startup
# benchmark (median of 10 starts, with the baseline server measured in the same run).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cache=$(mktemp -d)
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(now); GOCACHE=$cache go build -ldflags "-s -w" -o "$out/ospbox" .; t1=$(now)
GOCACHE=$cache go build -ldflags "-s -w" -o "$out/ospbox" .; t2=$(now)
echo "browser build, cold cache:  $(secs "$t0" "$t1") s"
echo "browser build, warm cache:  $(secs "$t1" "$t2") s"
# The baseline for build time: the one-file baseline server, cold, in the same cache state.
bcache=$(mktemp -d)
t3=$(now); GOCACHE=$bcache go build -ldflags "-s -w" -o "$out/baseline" ./testdata/baseline; t4=$(now)
echo "baseline server build, cold cache: $(secs "$t3" "$t4") s"
rm -rf "$bcache"
echo "browser binary:  $(stat -c %s "$out/ospbox") bytes"
echo "baseline binary: $(stat -c %s "$out/baseline") bytes"
if pkg-config --exists webkit2gtk-4.1 2>/dev/null; then
  t5=$(now); GOCACHE=$cache go build -tags desktop,production,webkit2_41 -ldflags "-s -w" -o "$out/ospbox-desktop" .; t6=$(now)
  GOCACHE=$cache go build -tags desktop,production,webkit2_41 -ldflags "-s -w" -o "$out/ospbox-desktop" .; t7=$(now)
  echo "desktop build, cold for the desktop packages: $(secs "$t5" "$t6") s"
  echo "desktop build, warm cache: $(secs "$t6" "$t7") s"
  echo "desktop binary:  $(stat -c %s "$out/ospbox-desktop") bytes"
fi
rm -rf "$cache"
go test -run '^$' -bench StartupToFirstManifest -benchtime=10x . | grep -E '^Benchmark'
