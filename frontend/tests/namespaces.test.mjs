// Browser test of namespaces in the UI: the switcher scopes every page to the namespace chosen,
// and the address says which.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("the namespace switcher scopes the pages, and the address says which", async () => {
  const post = (path, body) => fetch(`${ospbox.base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  assert.equal((await post("/ospbox/v1/namespaces", { id: "team-a", from: "empty" })).status, 201);
  const res = await (await post("/ns/team-a/providers/acmedb/osp/v1/provision", { offering_id: "acmedb/redis", tier_id: "free" })).json();
  for (const width of [1280, 800]) {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(ospbox.uiURL);
    await page.selectOption(".ns-switch select", "team-a");
    await page.click(".ns-switch button");
    await page.waitForFunction(() => document.body.dataset.ns === "team-a");
    assert.match(page.url(), /[?&]ns=team-a/);
    await page.click('nav a[href^="/ui/resources"]');
    await page.waitForFunction(() => document.body.dataset.ns === "team-a");
    assert.match(page.url(), /\/ui\/resources\?ns=team-a/, "links keep the namespace");
    assert.ok((await page.content()).includes(res.resource_id), "the namespace's resource is listed");
    await page.screenshot({ path: `${shots}/namespace-resources-${width}.png` });
    await page.goto(`${ospbox.base}/ui/resources?ns=default`);
    assert.ok(!(await page.content()).includes(res.resource_id), "the default namespace does not list it");
    await page.close();
  }
});
