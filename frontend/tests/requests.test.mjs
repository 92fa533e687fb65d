// Browser tests of the Requests page: an agent's call appears live, and its detail shows the
// exchange with secrets redacted and a curl command that replays it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("a provision appears live and its detail replays as curl, secrets redacted", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ospbox.base });
  const page = await context.newPage();
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/requests`);
  await page.waitForFunction(() => document.body.dataset.live === "open");

  const r = await fetch(`${ospbox.base}/osp/v1/provision`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Request-Id": "browser-1" },
    body: JSON.stringify({ offering_id: "acmedb/redis", tier_id: "free", config: { password: "hunter2" } }),
  });
  assert.equal(r.status, 201);
  const row = page.locator("#requests-live tr", { hasText: "browser-1" });
  await row.waitFor({ timeout: 10_000 });
  await row.locator("a").click();
  await page.waitForURL(/\/ui\/requests\/\d+$/);

  const text = await page.locator("main").innerText();
  assert.match(text, /POST \/osp\/v1\/provision/);
  assert.match(text, /"password": "\[redacted\]"/);
  assert.doesNotMatch(text, /hunter2/);
  assert.match(text, /"resource_id"/);
  await page.screenshot({ path: `${shots}/request-detail.png`, fullPage: true });

  await page.locator("h2 button.copy").click();
  const curl = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(curl, /^curl -X POST '/);
  // The copied command is a real request: run it and get a second resource.
  const status = execFileSync("sh", ["-c", `${curl} -s -o /dev/null -w '%{http_code}'`]).toString();
  assert.equal(status, "201");
  await context.close();
});

test("filters narrow the live log, and the live refresh keeps them", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/requests`);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  await fetch(`${ospbox.base}/osp/v1/nowhere`, { headers: { "X-Request-Id": "missing-1" } });
  const rows = page.locator("#requests-live tbody tr");
  await page.locator("#requests-live tr", { hasText: "missing-1" }).waitFor({ timeout: 10_000 });
  await page.selectOption('select[name="status"]', "4");
  await page.waitForFunction(() =>
    [...document.querySelectorAll("#requests-live tbody tr")].every((tr) => /\b4\d\d\b/.test(tr.innerText)),
  );
  const before = await rows.count();
  // A 2xx arriving now refreshes the table through SSE but stays filtered out; a 4xx shows up.
  await fetch(`${ospbox.base}/.well-known/osp.json`);
  await fetch(`${ospbox.base}/osp/v1/nowhere`, { headers: { "X-Request-Id": "missing-2" } });
  await page.locator("#requests-live tr", { hasText: "missing-2" }).waitFor({ timeout: 10_000 });
  assert.equal(await rows.count(), before + 1);
  await page.fill('input[name="q"]', "missing-1");
  await page.waitForFunction(() => document.querySelectorAll("#requests-live tbody tr").length === 1);
  await page.screenshot({ path: `${shots}/requests-filtered.png` });
  await page.close();
});
