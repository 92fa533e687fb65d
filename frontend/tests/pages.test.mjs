// Every page, after the demo filled the default namespace: at 1,440, 1,280, 1,024 and 800 px no
// page scrolls sideways and no table leaves its card; axe-core finds no serious or critical
// accessibility violation in the light or the dark theme; every control can be reached with the
// Tab key and shows where the focus is; and each page is screenshot at 1,280 px in both themes
// (SCREENSHOT_DIR/pages/<page>-<theme>.png; `make screenshots` puts them in docs/screenshots/pages,
// which is not committed: the README's few are).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { bin, session, shots } from "./helpers.mjs";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

/** The pages of the UI with a name for their screenshots; filled in once the demo ran. */
let pages = [];

async function fillWorkspace() {
  const demo = spawnSync(bin, ["demo", "--target", ospbox.base, "--namespace", "default", "--speed", "0"], { encoding: "utf8", timeout: 120_000 });
  assert.equal(demo.status, 0, `ospbox demo failed:\n${demo.stdout}\n${demo.stderr}`);
  // The orchestrator's flow from zero, as an agent runs it: a project, a free and a paid service.
  const config = mkdtempSync(join(tmpdir(), "ospbox-projects-"));
  for (const args of [["init", "shop"], ["add", "acmedb/redis"], ["add", "acmedb/redis:pay-as-you-go"], ["env"]]) {
    const run = spawnSync(bin, ["projects", "--target", ospbox.base, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, XDG_CONFIG_HOME: config } });
    assert.equal(run.status, 0, `ospbox projects ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
  }
  const post = (path, body) => fetch(`${ospbox.base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  await post("/ospbox/v1/scenarios", { match: { operation: "osp.health", path: "/osp/v1/health/detailed" }, effect: { latency: { distribution: "uniform", min_ms: 1, max_ms: 2 } } });
  await post("/ospbox/v1/namespaces", { id: "ci-tenant", from: "empty" });
  const journal = await (await fetch(`${ospbox.base}/ospbox/v1/requests?limit=1`)).json();
  const requestID = (journal.requests ?? journal.items ?? [])[0]?.id;
  // A resource of the demo, from the Resources page's first row.
  const probe = await browser.newPage();
  await probe.goto(ospbox.uiURL);
  await probe.goto(`${ospbox.base}/ui/resources`);
  const resource = await probe.locator("table a[href^='/ui/resources/']").first().getAttribute("href");
  const request = requestID ? `/ui/requests/${requestID}` : await probe.goto(`${ospbox.base}/ui/requests`).then(() => probe.locator("table a[href^='/ui/requests/']").first().getAttribute("href"));
  await probe.close();
  pages = [
    ["overview", "/ui/"],
    ["manifests", "/ui/manifests"],
    ["editor", "/ui/manifests?file=providers/acmedb/osp.json"],
    ["catalog", "/ui/catalog"],
    ["resources", "/ui/resources"],
    ["resource", resource],
    ["requests", "/ui/requests"],
    ["request", request],
    ["scenarios", "/ui/scenarios"],
    ["events", "/ui/event-log"],
    ["agents", "/ui/agents"],
    ["spend", "/ui/spend"],
    ["orchestrator", "/ui/orchestrator"],
    ["sandbox", "/ui/sandbox"],
    ["namespaces", "/ui/namespaces"],
    ["check", "/ui/check"],
    ["glossary", "/ui/glossary"],
  ];
  for (const [name, path] of pages) assert.ok(path, `no address for the ${name} page`);
}

/** Opens a browser page signed in with the launch token; bypassCSP lets axe's script in. */
async function openPage(width, colorScheme = "light") {
  const context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true, colorScheme });
  const page = await context.newPage();
  await page.goto(ospbox.uiURL);
  return page;
}

test("every page after the demo: layout at four widths, axe in both themes, keyboard, screenshots", async (t) => {
  await fillWorkspace();

  await t.test("no page scrolls sideways and no table leaves its card", async () => {
    const problems = [];
    for (const width of [1440, 1280, 1024, 800]) {
      const page = await openPage(width);
      for (const [name, path] of pages) {
        await page.goto(`${ospbox.base}${path}`);
        const found = await page.evaluate(() => {
          const out = [];
          const over = document.documentElement.scrollWidth - window.innerWidth;
          if (over > 0) out.push(`scrolls sideways by ${over} px`);
          for (const cell of document.querySelectorAll(".card td, .card th")) {
            const card = cell.closest(".card").getBoundingClientRect();
            const r = cell.getBoundingClientRect();
            if (r.width === 0) continue; // a column hidden at this width
            if (r.right > card.right + 1 || r.left < card.left - 1) {
              out.push(`cell "${cell.textContent.trim().slice(0, 40)}" leaves its card (${Math.round(r.right - card.right)} px)`);
            } else if (getComputedStyle(cell).overflowX === "visible" && cell.scrollWidth > cell.clientWidth + 1) {
              out.push(`cell "${cell.textContent.trim().slice(0, 40)}" overflows by ${cell.scrollWidth - cell.clientWidth} px`);
            }
          }
          return out.slice(0, 5);
        });
        for (const f of found) problems.push(`${name} at ${width} px: ${f}`);
      }
      await page.context().close();
    }
    assert.deepEqual(problems, []);
  });

  for (const theme of ["light", "dark"]) {
    await t.test(`axe finds no serious or critical violation (${theme})`, async () => {
      const page = await openPage(1280, theme);
      const violations = [];
      for (const [name, path] of pages) {
        await page.goto(`${ospbox.base}${path}`);
        await page.waitForLoadState("networkidle");
        mkdirSync(`${shots}/pages`, { recursive: true });
        await page.screenshot({ path: `${shots}/pages/${name}-${theme}.png`, fullPage: true });
        await page.addScriptTag({ content: axeSource });
        const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
        for (const v of result.violations) {
          if (v.impact !== "serious" && v.impact !== "critical") continue;
          const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ") + (v.id === "color-contrast" ? ` [${n.any[0]?.message.replace(/^Element has insufficient color contrast of /, "").slice(0, 110)}]` : "")).join(" | ");
          violations.push(`${name}: ${v.id} (${v.impact}, ${v.nodes.length}×): ${v.help} — ${where}`);
        }
      }
      await page.context().close();
      assert.deepEqual(violations, []);
    });
  }

  await t.test("every control is reached by Tab and shows its focus", async () => {
    const page = await openPage(1280);
    const problems = [];
    for (const [name, path] of pages) {
      await page.goto(`${ospbox.base}${path}`);
      // Controls a person can see and use; each gets a mark the Tab walk collects.
      const { keys, stops } = await page.evaluate(() => {
        const controls = [...document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]")].filter((el) => {
          // tabindex="-1" takes an element out of the Tab order on purpose (focus by script).
          if (el.disabled || el.closest("[hidden], [inert]") || el.getAttribute("tabindex") === "-1") return false;
          // checkVisibility: not inside a closed <details>, display:none or visibility:hidden.
          return el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true });
        });
        // A control is known by what it is, not by its node: live fragments re-render while the
        // walk goes on.
        // A radio group is one Tab stop (the arrow keys move inside it).
        window.controlKey = (el) =>
          el.type === "radio" ? `radio|${el.name}` : [el.tagName, el.getAttribute("href"), el.name, el.getAttribute("aria-label"), el.textContent.trim().slice(0, 40)].join("|");
        // The walk needs as many presses as there are stops, more than the distinct keys (every
        // row's copy button is one key).
        return { keys: [...new Set(controls.map(window.controlKey))], stops: controls.length };
      });
      // Clickable things that are not controls cannot be reached by keyboard at all.
      const mouseOnly = await page.evaluate(() =>
        [...document.querySelectorAll("[hx-get], [hx-post], [data-copy], [onclick]")]
          .filter((el) => {
            const trigger = el.getAttribute("hx-trigger");
            const onClick = el.matches("[data-copy], [onclick]") || trigger === null || /\bclick\b/.test(trigger);
            return onClick && !el.matches("a[href], button, input, select, textarea, form, summary, [tabindex]") && !el.closest("form");
          })
          .map((el) => el.outerHTML.slice(0, 80)),
      );
      for (const m of mouseOnly) problems.push(`${name}: not a control but clickable: ${m}`);
      const reached = new Set();
      let unfocusedStyle = [];
      await page.locator("body").focus();
      const total = keys.length;
      for (let i = 0; i < Math.min(stops, 800) + 40 && reached.size < total; i++) {
        await page.keyboard.press("Tab");
        const seen = await page.evaluate(() => {
          const el = document.activeElement;
          if (!el || el === document.body) return null;
          // The ring may be drawn by the control or by its frame (the code editor's box).
          const ring = (e) => {
            const s = getComputedStyle(e);
            return (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
          };
          let shows = false;
          for (let e = el, up = 0; e && up < 4 && !shows; e = e.parentElement, up++) shows = ring(e);
          return { key: window.controlKey(el), shows, what: el.outerHTML.slice(0, 60) };
        });
        if (!seen) continue;
        reached.add(seen.key);
        if (!seen.shows) unfocusedStyle.push(seen.what);
      }
      const missed = keys.filter((k) => !reached.has(k));
      if (total <= 400 && missed.length) problems.push(`${name}: ${missed.length} of ${total} controls not reached by Tab, e.g. ${missed.slice(0, 3).join(" | ")}`);
      unfocusedStyle = [...new Set(unfocusedStyle)];
      if (unfocusedStyle.length) problems.push(`${name}: focus not visible on ${unfocusedStyle.slice(0, 3).join(" | ")}`);
    }
    await page.context().close();
    assert.deepEqual(problems, []);
  });
});
