// Browser tests of the Sandbox page: export the state, change it, import the export and get the
// same state back; save a seed and reset to it; advance the clock and see a sandbox expire.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

async function provision(body) {
  const r = await fetch(`${ospbox.base}/osp/v1/provision`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 201);
  return (await r.json()).resource_id;
}


test("export, change, import gives the same state back; reset returns to the seed", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/sandbox`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  const card = page.locator("#state-card");

  const kept = await provision({ offering_id: "acmedb/redis", tier_id: "free" });
  await card.getByText("1 live resource").waitFor({ timeout: 10_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), card.getByText("Export state").click()]);
  const exported = await download.path();

  const later = await provision({ offering_id: "acmedb/redis", tier_id: "free" });
  await card.getByText("2 live resources").waitFor({ timeout: 10_000 });

  await card.locator('input[type="file"]').setInputFiles(exported);
  await card.getByRole("button", { name: "Import state" }).click();
  await card.getByText("Imported").waitFor();
  await card.getByText("1 live resource").waitFor();
  // The agent sees the imported state: the first resource exists, the later one does not.
  assert.equal((await fetch(`${ospbox.base}/osp/v1/resources/${kept}/status`)).status !== 404, true);
  assert.equal((await fetch(`${ospbox.base}/osp/v1/resources/${later}/status`)).status, 404);

  // Save this state as the seed, change it, and reset back to it.
  await card.getByRole("button", { name: "Save as seed" }).click();
  await card.getByText("The current state is the seed now.").waitFor();
  await provision({ offering_id: "acmedb/redis", tier_id: "free" });
  await card.getByText("2 live resources").waitFor({ timeout: 10_000 });
  page.once("dialog", (d) => d.accept());
  await card.getByRole("button", { name: "Reset to seed" }).click();
  await card.getByText("back to the seed").waitFor();
  await card.getByText("1 live resource").waitFor();
  await page.screenshot({ path: `${shots}/sandbox.png`, fullPage: true });
  await page.close();
});

test("advancing the clock expires a sandbox", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(ospbox.uiURL);
  const id = await provision({ offering_id: "acmedb/redis", tier_id: "free", sandbox: { enabled: true, ttl_hours: 1, auto_destroy: false } });
  await page.goto(`${ospbox.base}/ui/sandbox`);
  await page.getByRole("button", { name: "+1 day" }).click();
  await page.locator("#clock-card").getByText("from real time").waitFor();
  await page.goto(`${ospbox.base}/ui/resources/${id}`);
  assert.match(await page.locator("main").innerText(), /environment\.ttl_expired/);
  await page.close();
});
