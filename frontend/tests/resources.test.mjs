// Browser tests of the Resources inspector: a resource an agent provisions appears live, and its
// detail shows its state and timeline.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("a provisioned sandbox appears live and opens to its timeline", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/resources`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  assert.match(await page.locator("#resources-live").innerText(), /No resources yet/);

  const r = await fetch(`${ospbox.base}/osp/v1/provision`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ offering_id: "acmedb/redis", tier_id: "free", sandbox: { enabled: true } }),
  });
  assert.equal(r.status, 201);
  const { resource_id: id } = await r.json();
  const row = page.locator(`[data-resource="${id}"]`);
  await row.waitFor({ timeout: 10_000 });
  assert.match(await row.innerText(), /provisioned\s+sandbox/);
  await page.screenshot({ path: `${shots}/resources.png` });

  await page.selectOption('select[name="sandbox"]', "no");
  await row.waitFor({ state: "detached" });
  await page.selectOption('select[name="sandbox"]', "yes");
  await row.locator("a").click();
  await page.waitForURL(new RegExp(`/ui/resources/${id}$`));
  assert.match(await page.locator("main").innerText(), /resource\.provisioned/);
  await page.screenshot({ path: `${shots}/resource-detail.png` });
  await page.close();
});

test("rotating from the detail page makes the API refuse the old token", async () => {
  const r = await fetch(`${ospbox.base}/osp/v1/provision`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ offering_id: "acmedb/redis", tier_id: "free" }),
  });
  const created = await r.json();
  const id = created.resource_id;
  const oldToken = created.credentials_bundle.metadata.resource_access_token;
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/resources/${id}`);
  await page.getByRole("button", { name: "Rotate credentials" }).click();
  await page.getByText(/Rotated: the bundle is at version 2/).waitFor();
  await page.getByRole("button", { name: "Reveal credentials" }).click();
  const revealed = page.locator("[data-credentials]");
  await revealed.waitFor();
  assert.doesNotMatch(await revealed.innerText(), new RegExp(oldToken));

  // Past the rotation's grace period the agent's old token is refused.
  await fetch(`${ospbox.base}/ospbox/v1/clock/advance`, { method: "POST", body: JSON.stringify({ seconds: 7200 }) });
  const refused = await fetch(`${ospbox.base}/osp/v1/resources/${id}`, { headers: { Authorization: `Bearer ${oldToken}` } });
  assert.equal(refused.status, 401);
  assert.equal((await refused.json()).error.code, "credentials_rotated");
  await page.locator("main").getByText("credentials.rotated").first().waitFor({ timeout: 10_000 });
  await page.evaluate(() => window.scrollTo(0, 0)); // the sticky sidebar is drawn where the page is scrolled to
  await page.screenshot({ path: `${shots}/resource-actions.png`, fullPage: true });
  await page.close();
});
