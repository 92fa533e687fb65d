// Browser test of the Events page: an agent's provisioning shows up live, and a filter keeps
// only the chosen type.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("events appear live and filter by type", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/event-log`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  assert.match(await page.locator("#events-live").innerText(), /No events yet/);

  const r = await fetch(`${ospbox.base}/osp/v1/provision`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ offering_id: "acmedb/redis", tier_id: "free", sandbox: { enabled: true, ttl_hours: 2 } }),
  });
  const { resource_id: id } = await r.json();
  await page.locator('[data-event="resource.provisioned"]').waitFor({ timeout: 10_000 });
  await fetch(`${ospbox.base}/osp/v1/resources/${id}`, { method: "DELETE" });
  await page.locator('[data-event="resource.deprovisioned"]').waitFor({ timeout: 10_000 });

  await page.reload(); // the type menu lists the types seen so far
  await page.selectOption('select[name="type"]', "resource.deprovisioned");
  await page.locator('[data-event="resource.provisioned"]').waitFor({ state: "detached" });
  assert.equal(await page.locator("[data-event]").count(), 1);
  await page.selectOption('select[name="type"]', "");
  await page.locator('[data-event="resource.provisioned"]').waitFor();
  await page.locator('[data-event="resource.provisioned"] summary').click();
  await page.screenshot({ path: `${shots}/events.png` });
  await page.close();
});
