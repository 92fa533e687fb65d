// Layout: at 1,280 and 800 px no page of the sidebar scrolls sideways (tables keep to their
// cards), in a workspace with requests, resources and a scenario rule to show.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("no page scrolls sideways at 1280 or 800 px", async () => {
  const post = (path, body) => fetch(`${ospbox.base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  await post("/providers/acmedb/osp/v1/provision", { offering_id: "acmedb/redis", tier_id: "free" });
  await post("/ospbox/v1/scenarios", { match: { operation: "osp.health", path: "/osp/v1/health/detailed" }, effect: { latency: { distribution: "uniform", min_ms: 1, max_ms: 2 } } });
  const pages = ["/ui/", "/ui/manifests", "/ui/catalog", "/ui/resources", "/ui/requests", "/ui/scenarios", "/ui/event-log", "/ui/agents", "/ui/spend", "/ui/sandbox", "/ui/namespaces", "/ui/check", "/ui/glossary"];
  const wide = [];
  for (const width of [1280, 800]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(ospbox.uiURL);
    for (const path of pages) {
      await page.goto(`${ospbox.base}${path}`);
      const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (over > 0) wide.push(`${path} at ${width} px is ${over} px too wide`);
    }
    await page.close();
  }
  assert.deepEqual(wide, []);
});
