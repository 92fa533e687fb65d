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

test("the Namespaces page creates, snapshots, resets and deletes namespaces", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("dialog", (d) => d.accept()); // the Reset and Delete confirmations
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/namespaces?ns=default`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  await page.fill('.ns-create input[name="id"]', "from-the-page");
  await page.selectOption('.ns-create select[name="from"]', "empty");
  await page.click('.ns-create button[type="submit"]');
  const row = page.locator('tr[data-namespace="from-the-page"]');
  await row.waitFor();
  assert.match(await page.locator("#namespaces-live .notice.ok").innerText(), /from-the-page is made/);
  const api = await (await fetch(`${ospbox.base}/ospbox/v1/namespaces/from-the-page`)).json();
  assert.equal(api.id, "from-the-page", "the API sees the namespace the page made");

  await fetch(`${ospbox.base}/ns/from-the-page/providers/acmedb/osp/v1/provision`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ offering_id: "acmedb/redis", tier_id: "free" }) });
  await page.waitForFunction(() => /1 resource /.test(document.querySelector('tr[data-namespace="from-the-page"]')?.innerText ?? ""), null, { timeout: 10000 });

  await row.getByRole("button", { name: "Snapshot namespace from-the-page" }).click();
  await page.locator('tr[data-snapshot] td:text("from-the-page")').waitFor();
  await page.locator('tr[data-namespace="from-the-page"]').getByRole("button", { name: "Reset namespace from-the-page" }).click();
  await page.waitForFunction(() => /0 resources/.test(document.querySelector('tr[data-namespace="from-the-page"]')?.innerText ?? ""));
  await page.screenshot({ path: `${shots}/namespaces-page.png` });
  await page.locator('tr[data-namespace="from-the-page"]').getByRole("button", { name: "Delete namespace from-the-page" }).click();
  await page.locator('tr[data-namespace="from-the-page"]').waitFor({ state: "detached" });
  assert.equal((await fetch(`${ospbox.base}/ospbox/v1/namespaces/from-the-page`)).status, 404);
  await page.close();
});
