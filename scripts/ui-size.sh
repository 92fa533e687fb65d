#!/usr/bin/env bash
# The UI bundle against a baseline commit, in one run: builds the baseline's assets and binary in a
# temporary worktree (sharing frontend/node_modules), prints the gzipped size of each asset for
# both, then the first paint of the Overview and Spend pages after the demo for both binaries
# (scripts/firstpaint.mjs).   scripts/ui-size.sh [BASE_COMMIT]   (default: the first commit of issue 17's second half)
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-42500cb}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add -q --detach "$work/base" "$base"
ln -s "$PWD/frontend/node_modules" "$work/base/frontend/node_modules"
(cd "$work/base/frontend" && node build.mjs >/dev/null)
(cd "$work/base" && go build -o "$work/ospbox-base" .)
(cd frontend && node build.mjs >/dev/null)
go build -o "$work/ospbox-head" .
printf '%-12s %12s %12s %8s\n' asset "base gzip B" "head gzip B" ratio
for f in app.js style.css editor.js; do
  b=$(gzip -9c "$work/base/frontend/dist/$f" | wc -c)
  h=$(gzip -9c "frontend/dist/$f" | wc -c)
  printf '%-12s %12d %12d %8s\n' "$f" "$b" "$h" "$(awk -v h="$h" -v b="$b" 'BEGIN{printf "%.2f", h/b}')"
done
node scripts/firstpaint.mjs "$work/ospbox-base" "$work/ospbox-head" "${ROUNDS:-15}"
