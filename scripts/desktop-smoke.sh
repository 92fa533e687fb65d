#!/usr/bin/env bash
# Desktop smoke test: start the real desktop binary under Xvfb on the Spend page, wait for the
# window's DOM-ready log line, screenshot the whole screen, and fail when the screenshot is blank or
# the app died; open pages from the application menu by its shortcuts; then run `ospbox demo`
# against it and screenshot the Spend page it filled. The window must open at the size and place
# remembered from the last launch, and remember them again when it closes.
set -euo pipefail
bin=${1:?usage: desktop-smoke.sh path/to/ospbox-desktop}
out=${SCREENSHOT_DIR:-frontend/test-results}
mkdir -p "$out"
work=$(mktemp -d)
display=":$((100 + RANDOM % 400))"
cleanup() {
  [ -n "${app_pid:-}" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "${xvfb_pid:-}" ] && kill "$xvfb_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done

# The geometry a previous launch remembered (app/desktop_menu.go).
mkdir -p "$work/config/ospbox"
echo '{"width": 1100, "height": 720, "x": 40, "y": 30, "placed": true}' >"$work/config/ospbox/window.json"

DISPLAY=$display WAYLAND_DISPLAY= OSPBOX_LOG_LEVEL=debug XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" "$bin" --addr 127.0.0.1:0 --page /ui/spend >"$work/app.out" 2>"$work/app.err" &
app_pid=$!

# await_log PATTERN TENTHS: wait up to TENTHS × 0.1 s for the app to log a line matching PATTERN.
await_log() {
  for _ in $(seq "$2"); do
    grep -q "$1" "$work/app.err" && return 0
    kill -0 "$app_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

if ! await_log "window DOM ready" 600; then
  echo "desktop-smoke: FAIL: the window never reported DOM ready" >&2
  cat "$work/app.err" >&2
  exit 1
fi
# The page's script opens the live event stream once htmx runs: that request proves the
# Overview loaded with its assets, not an error page.
if ! await_log 'msg="desktop: request" method=GET path=/ui/events' 150; then
  echo "desktop-smoke: FAIL: the window never opened the live event stream (page or assets failed)" >&2
  cat "$work/app.err" >&2
  exit 1
fi
# pixels FILE COLOUR: how many pixels of FILE are COLOUR (within 6 %).
pixels() { convert "$1" -fuzz 6% -fill black +opaque "$2" -fill white -opaque "$2" -format '%[fx:round(mean*w*h)]' info:; }
# WebKit paints when it paints: screenshot until the condition holds or 20 s have passed, rather
# than after a fixed wait that a slow first start (a fresh install) can outlast.
colors=0 accent=0
for _ in $(seq 40); do
  DISPLAY=$display import -window root "$out/desktop.png"
  colors=$(convert "$out/desktop.png" -format '%k' info:)
  # The accent blue (nav, icon, the spend charts) must be on screen: a blank window, an error
  # page or an unstyled page has none of it.
  accent=$(pixels "$out/desktop.png" '#3b5bdb')
  [ "$colors" -ge 64 ] && [ "$accent" -ge 200 ] && break
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.5
done
echo "desktop-smoke: screenshot $out/desktop.png has $colors colours, $accent accent pixels"
if [ "$colors" -lt 64 ] || [ "$accent" -lt 200 ]; then
  echo "desktop-smoke: FAIL: the window does not show the styled Spend page" >&2
  cat "$work/app.err" >&2
  exit 1
fi
win=$(DISPLAY=$display xdotool search --name '^ospbox — ' | head -1)
geometry=$(DISPLAY=$display xdotool getwindowgeometry "$win" | tr -s ' \n' ' ')
echo "desktop-smoke: window $win:$geometry"
case "$geometry" in
*"Position: 40,30 "*"Geometry: 1100x720"*) ;;
*) echo "desktop-smoke: FAIL: the window did not open at the remembered 1100x720 at 40,30" >&2; exit 1 ;;
esac
# The Go menu's shortcuts, pressed as a person would (XTEST key events to the focused window):
# Ctrl+5 is Requests, Ctrl+9 Spend again.
DISPLAY=$display xdotool windowfocus --sync "$win"
DISPLAY=$display xdotool key ctrl+5
if ! await_log 'msg="desktop: request" method=GET path=/ui/requests$' 100; then
  echo "desktop-smoke: FAIL: Go > Requests (Ctrl+5) did not open the Requests page" >&2
  cat "$work/app.err" >&2
  exit 1
fi
DISPLAY=$display import -window root "$out/desktop-menu.png"
DISPLAY=$display xdotool key ctrl+9
for _ in $(seq 100); do
  [ "$(grep -c 'msg="desktop: request" method=GET path=/ui/spend$' "$work/app.err")" -ge 2 ] && break
  sleep 0.1
done
if [ "$(grep -c 'msg="desktop: request" method=GET path=/ui/spend$' "$work/app.err")" -lt 2 ]; then
  echo "desktop-smoke: FAIL: Go > Spend (Ctrl+9) did not open the Spend page" >&2
  exit 1
fi
echo "desktop-smoke: the menu opened Requests and Spend"
if ! grep -q "sandbox host listening" "$work/app.err"; then
  echo "desktop-smoke: FAIL: the sandbox host did not start" >&2
  exit 1
fi
url=$(grep -o 'url=http://127.0.0.1:[0-9]*' "$work/app.err" | head -1 | cut -d= -f2)
status=$(curl -s -o /dev/null -w '%{http_code}' "$url/.well-known/osp.json")
if [ "$status" != 200 ]; then
  echo "desktop-smoke: FAIL: the sandbox host answered $status while the window was open" >&2
  exit 1
fi
# The demo agent runs against the open window's sandbox: the SSE "changed" events make htmx fetch
# the Spend fragment through the AssetServer, and the refused provisions appear.
# --namespace default: the window shows the default namespace, so the demo fills that one.
if ! "$bin" demo --target "$url" --namespace default --speed 0 >"$work/demo.out" 2>&1; then
  echo "desktop-smoke: FAIL: the demo did not run against the window's sandbox" >&2
  cat "$work/demo.out" >&2
  exit 1
fi
if ! await_log 'msg="desktop: request" method=GET path=/ui/spend/live' 100; then
  echo "desktop-smoke: FAIL: the window did not refresh after the demo (SSE in the window)" >&2
  exit 1
fi
# The refused provisions (402 and 403 budget_exceeded) are in the warning colour at the foot of
# the page, once the last refresh of the burst is painted: End scrolls there, as a person would.
DISPLAY=$display xdotool windowfocus --sync "$win"
warn=0
for _ in $(seq 40); do
  DISPLAY=$display xdotool key End
  DISPLAY=$display import -window root "$out/desktop-spend.png"
  warn=$(pixels "$out/desktop-spend.png" '#a35400')
  [ "$warn" -ge 100 ] && break
  sleep 0.5
done
echo "desktop-smoke: after the demo $out/desktop-spend.png has $warn warning-colour pixels"
if [ "$warn" -lt 100 ]; then
  echo "desktop-smoke: FAIL: the Spend page does not show the provisions the demo had refused" >&2
  exit 1
fi
# A provider that asks for consent: `projects add` waits, and the window comes forward on the
# Orchestrator page with Approve and Deny. The answer then comes from the orchestrator's API (what
# the page's Approve and --approve use), and add finishes with the consent's grant.
XDG_CONFIG_HOME="$work/cli" "$bin" projects --target "$url" init smoke >/dev/null 2>&1
XDG_CONFIG_HOME="$work/cli" "$bin" projects --target "$url" add skyhost/static-site --json --consent-wait 60s >"$work/add.out" 2>"$work/add.err" &
add_pid=$!
if ! await_log 'msg="desktop: request" method=GET path=/ui/orchestrator$' 100; then
  echo "desktop-smoke: FAIL: a waiting consent did not bring the Orchestrator page forward" >&2
  kill "$add_pid" 2>/dev/null
  exit 1
fi
sleep 1
DISPLAY=$display import -window root "$out/desktop-consent.png"
state="$work/cli/ospbox/projects.json"
project=$(grep -o '"project_id": *"[^"]*"' "$state" | head -1 | sed 's/.*"\(prj_[^"]*\)"/\1/')
token=$(grep -o '"token": *"[^"]*"' "$state" | head -1 | sed 's/.*"\(opt_[^"]*\)"/\1/')
consent=$(curl -s "$url/orchestrator/v1/projects/$project/consents" -H "Authorization: Bearer $token" | grep -o 'cns_[0-9a-z]*' | head -1)
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/orchestrator/v1/consents/$consent/approve" -H "Authorization: Bearer $token" -d '{}')
if ! wait "$add_pid" || ! grep -q '"authorization": "oauth"' "$work/add.out"; then
  echo "desktop-smoke: FAIL: projects add did not finish after consent $consent was approved ($status)" >&2
  cat "$work/add.err" >&2
  exit 1
fi
echo "desktop-smoke: consent $consent brought the window forward ($out/desktop-consent.png); approved, projects add finished"
kill -TERM "$app_pid"
for _ in $(seq 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$app_pid" 2>/dev/null; then
  echo "desktop-smoke: FAIL: the app did not stop on SIGTERM" >&2
  exit 1
fi
app_pid=""
if ! grep -q '"width": 1100' "$work/config/ospbox/window.json" || ! grep -q "window geometry saved" "$work/app.err"; then
  echo "desktop-smoke: FAIL: the window's geometry was not remembered at exit" >&2
  cat "$work/config/ospbox/window.json" >&2
  exit 1
fi
echo "desktop-smoke: PASS"
