// Browser test of the Check page: run the conformance checks against this workspace's provider
// and watch the results arrive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("the checks run against the workspace's provider and pass", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/check`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  assert.equal(await page.locator("#check-url").inputValue(), `${ospbox.base}/providers/acmedb`);
  await page.getByRole("button", { name: "Run checks" }).click();
  await page.locator("#check-results .badge", { hasText: "conformant" }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('[data-status="fail"]').count(), 0);
  assert.ok((await page.locator('[data-status="pass"]').count()) >= 10);
  await page.screenshot({ path: `${shots}/check.png`, fullPage: true });
  await page.close();
});

test("the BSP checks run against this workspace with its own credential", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/check`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  // The workspace's servers are offered by name; picking one fills the URL and the protocol.
  await page.locator("#check-target").selectOption({ label: "BSP service" });
  assert.equal(await page.locator("#check-url").inputValue(), ospbox.base);
  assert.equal(await page.locator("#check-protocol").inputValue(), "bsp");
  await page.getByRole("button", { name: "Run checks" }).click();
  await page.locator('[data-check="bsp.events.stream"]').waitFor({ timeout: 30_000 });
  await page.locator("#check-results .badge", { hasText: "conformant" }).waitFor({ timeout: 30_000 });
  assert.equal(await page.locator('[data-status="fail"]').count(), 0);
  assert.equal(await page.locator('[data-check="bsp.auth.required"]').getAttribute("data-status"), "pass");
  await page.screenshot({ path: `${shots}/check-bsp.png`, fullPage: true });
  await page.close();
});

test("the level is a segmented control that works from the keyboard", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/check`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  // Tab to the group, then the arrow keys move the choice: All → MUST, SHOULD → MUST.
  await page.locator('#seg-level input[value="all"]').focus();
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.locator('#seg-level input:checked').getAttribute("value"), "must");
  await page.locator("#check-nd").check();
  await page.getByRole("button", { name: "Run checks" }).click();
  // The earlier tests' results stay on the page until this run's replace them: wait for a
  // finished run whose every row is a MUST check (a run that ignored the level never gets there).
  await page.waitForFunction(() => {
    const done = [...document.querySelectorAll("#check-results .badge")].some((b) => b.textContent.trim() === "conformant");
    const levels = [...document.querySelectorAll("#check-results tr[data-check] td:nth-child(2)")].map((td) => td.textContent.trim());
    return done && levels.length > 0 && levels.every((l) => l === "MUST");
  }, null, { timeout: 30_000 });
  await page.close();
});
