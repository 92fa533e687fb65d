// The UI's behaviour: htmx with its SSE extension for live fragments, plus copy buttons and the
// light/dark switch. Everything else is rendered on the server.
import "./htmx-global.js";
import "htmx-ext-sse";

const themeKey = "ospbox-theme";

function applyTheme(theme) {
  if (theme === "light" || theme === "dark") {
    document.documentElement.dataset.theme = theme;
  } else {
    delete document.documentElement.dataset.theme;
  }
}

applyTheme(localStorage.getItem(themeKey));

document.addEventListener("click", async (event) => {
  const copy = event.target.closest("[data-copy]");
  if (copy) {
    const text = copy.dataset.copy;
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Clipboard API needs a secure context; fall back to a selection copy.
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    copy.dataset.copied = "true";
    setTimeout(() => delete copy.dataset.copied, 1200);
    return;
  }
  const toggle = event.target.closest("[data-theme-toggle]");
  if (toggle) {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === "dark"
      : matchMedia("(prefers-color-scheme: dark)").matches;
    const next = dark ? "light" : "dark";
    localStorage.setItem(themeKey, next);
    applyTheme(next);
  }
});

// A picker that fills other fields: choosing one of the workspace's servers on the Check page
// puts its URL and protocol in the form, "another server" clears the URL for typing.
document.addEventListener("change", (event) => {
  const picker = event.target.closest("select[data-fill-url]");
  if (!picker) return;
  const url = document.querySelector(picker.dataset.fillUrl);
  const protocol = document.querySelector(picker.dataset.fillProtocol);
  const option = picker.selectedOptions[0];
  url.value = option.value;
  if (protocol && option.dataset.protocol) protocol.value = option.dataset.protocol;
  if (!option.value) url.focus();
});

// Show the live-connection state in the header.
document.addEventListener("htmx:sseOpen", () => document.body.dataset.live = "open");
document.addEventListener("htmx:sseError", () => document.body.dataset.live = "error");

// TTL countdowns tick between live refreshes, on the workspace clock (frozen clocks stand still).
function tickCountdowns() {
  for (const el of document.querySelectorAll("[data-countdown]")) {
    if (el.hasAttribute("data-frozen")) continue;
    const now = Date.parse(el.dataset.now) + (Date.now() - (Number(el.dataset.seen) || (el.dataset.seen = Date.now())));
    let left = Math.round((Date.parse(el.dataset.countdown) - now) / 1000);
    const past = left < 0;
    left = Math.abs(left);
    const d = Math.floor(left / 86400), h = Math.floor((left % 86400) / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    const parts = d ? [`${d} d`, `${h} h`] : h ? [`${h} h`, `${m} min`] : m ? [`${m} min`, `${s} s`] : [`${s} s`];
    el.textContent = past ? `${parts.join(" ")} ago` : `in ${parts.join(" ")}`;
  }
}
setInterval(tickCountdowns, 1000);

// A live refresh never swaps a part of the page out from under a pointer that just reached one of
// its controls: the swap waits a moment and the refresh runs again, so a click lands on the
// button the person aimed at, not on one that is being replaced.
let lastAim = 0;
document.addEventListener("pointerover", (event) => {
  if (event.target.closest && event.target.closest("button, input, select, textarea, a, label, summary")) lastAim = Date.now();
}, true);
document.addEventListener("htmx:beforeSwap", (event) => {
  const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  if (trigger && trigger.type === "sse:changed" && Date.now() - lastAim < 700) {
    event.detail.shouldSwap = false;
    const elt = event.detail.elt;
    setTimeout(() => window.htmx.trigger(elt, "sse:changed"), 1100); // past any refresh throttle (≤ 1 s)
  }
});

// The namespace a page shows (spec/control.md §1) goes with its links, so the address says
// which; the cookie the first ?ns= set carries it for fragments and the event stream.
function keepNamespace(root) {
  const ns = document.body.dataset.ns;
  if (!ns || ns === "default") return;
  for (const a of root.querySelectorAll('a[href^="/ui/"]')) {
    const u = new URL(a.getAttribute("href"), location.origin);
    if (!u.searchParams.has("ns")) {
      u.searchParams.set("ns", ns);
      a.setAttribute("href", u.pathname + u.search + u.hash);
    }
  }
}
keepNamespace(document);
{
  const ns = document.body.dataset.ns;
  const here = new URL(location.href);
  if (ns && ns !== "default" && !here.searchParams.has("ns")) {
    here.searchParams.set("ns", ns);
    history.replaceState(null, "", here.pathname + here.search + here.hash);
  }
}
document.addEventListener("htmx:afterSwap", (event) => keepNamespace(event.target));
