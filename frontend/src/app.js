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

// Show the live-connection state in the header.
document.addEventListener("htmx:sseOpen", () => document.body.dataset.live = "open");
document.addEventListener("htmx:sseError", () => document.body.dataset.live = "error");
