// Browser test of the Spend dashboard: spend appears live as an agent provisions, and a cap set
// on the page blocks the agent's next provision in the API and shows up as a blocked provision.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

const paid = { offering_id: "skyhost/static-site", tier_id: "team", payment_method: "stripe_spt", payment_proof: "tok" };

async function provision(body) {
  const r = await fetch(`${ospbox.base}/providers/skyhost/osp/v1/provision`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}

test("setting a cap on the Spend page blocks the next provision", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/spend`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  const card = page.locator('[data-provider="skyhost"]');
  assert.equal(await card.locator("[data-total]").innerText(), "$0.00");

  assert.equal((await provision(paid)).status, 202);
  await card.locator("[data-total]", { hasText: "$20.00" }).waitFor({ timeout: 10_000 });

  // Cap skyhost at $24 from the page (83 % spent): the next $20 provision would pass it.
  await card.locator('input[name="amount"]').first().fill("24.00");
  await card.getByRole("button", { name: "Set cap" }).click();
  await card.locator("[data-cap]", { hasText: "$24.00" }).waitFor();
  await card.getByText("over 80 % of cap").waitFor();

  const refused = await provision(paid);
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, "budget_exceeded");
  await page.locator('[data-refused="budget_exceeded"]').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('[data-refused="budget_exceeded"]').innerText(), /403/);
  await page.screenshot({ path: `${shots}/spend.png`, fullPage: true });
  await page.close();
});
