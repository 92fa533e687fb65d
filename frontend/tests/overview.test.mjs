// Browser tests of the Overview: what a person sees after `ospbox serve`, and what a foreign
// page or a link without the token gets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("the Overview lists the sample providers, offerings and tiers", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const resp = await page.goto(ospbox.uiURL);
  assert.equal(resp.status(), 200);
  assert.equal(new URL(page.url()).search, "", "the token must leave the address bar");
  const acme = page.locator('[data-provider="acmedb"]');
  await acme.waitFor();
  assert.match(await acme.locator("h2").innerText(), /AcmeDB/);
  assert.match(await acme.innerText(), /default/);
  assert.equal(
    await acme.locator(".base-url").innerText(),
    `${ospbox.base}/providers/acmedb/osp/v1`,
  );
  for (const id of ["acmedb/postgres", "acmedb/redis", "acmedb/search"]) {
    assert.equal(await acme.locator(`[data-offering="${id}"]`).count(), 1, id);
  }
  assert.match(await acme.locator('[data-offering="acmedb/postgres"] [data-tier="pro"]').innerText(), /USD 25\.00 \/ month/);
  assert.equal(await page.locator('[data-provider="skyhost"] [data-offering]').count(), 3);
  assert.equal(await page.locator("#tile-resources .n").innerText(), "0", "nothing provisioned yet");
  assert.equal(await page.locator(".notice").count(), 0, "assets are built, so no build notice");
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });
  await page.close();
});

test("the request counter rises live when an agent calls the mock", async () => {
  const page = await browser.newPage();
  await page.goto(ospbox.uiURL);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  const before = Number(await page.locator("#tile-requests .n").innerText());
  const r = await fetch(`${ospbox.base}/.well-known/osp.json`);
  assert.equal(r.status, 200);
  await page.waitForFunction(
    (n) => Number(document.querySelector("#tile-requests .n").textContent) > n,
    before,
    { timeout: 10_000 },
  );
  await page.close();
});

test("dark mode can be switched on and is remembered", async () => {
  const page = await browser.newPage({ colorScheme: "light", viewport: { width: 1280, height: 900 } });
  await page.goto(ospbox.uiURL);
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await bg();
  await page.click("[data-theme-toggle]");
  const dark = await bg();
  assert.notEqual(dark, light);
  await page.reload();
  assert.equal(await bg(), dark);
  await page.screenshot({ path: `${shots}/overview-dark.png` });
  await page.close();
});

test("the copy button copies the base URL", async () => {
  const context = await browser.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: ospbox.base });
  const page = await context.newPage();
  await page.goto(ospbox.uiURL);
  await page.locator('[data-provider="skyhost"] .meta button.copy').first().click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, `${ospbox.base}/providers/skyhost/osp/v1`);
  await context.close();
});

test("a request without the token is refused", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const resp = await page.goto(`${ospbox.base}/ui/`);
  assert.equal(resp.status(), 401);
  assert.doesNotMatch(await page.content(), /AcmeDB/);
  const wrong = await page.goto(`${ospbox.base}/ui/?token=not-the-token`);
  assert.equal(wrong.status(), 401);
  await context.close();
});

test("a request with a foreign Origin is refused", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(ospbox.uiURL); // has the cookie now
  const foreign = await context.request.get(`${ospbox.base}/ui/`, {
    headers: { Origin: "http://evil.example" },
  });
  assert.equal(foreign.status(), 403);
  const post = await context.request.post(`${ospbox.base}/ui/reload`, {
    headers: { Origin: "http://evil.example" },
  });
  assert.equal(post.status(), 403);
  const noCsrf = await context.request.post(`${ospbox.base}/ui/reload`);
  assert.equal(noCsrf.status(), 403, "a POST without the CSRF token is refused");
  await context.close();
});

test("a page on another origin cannot read the UI through fetch", async () => {
  // A second ospbox-free origin: the mock's own 404 page on "localhost" counts as another origin.
  const page = await browser.newPage();
  const other = ospbox.base.replace("127.0.0.1", "localhost");
  await page.goto(`${other}/nope`);
  const result = await page.evaluate(async (url) => {
    try {
      const r = await fetch(url, { credentials: "include" });
      return `status ${r.status}`;
    } catch (e) {
      return "blocked";
    }
  }, `${ospbox.base}/ui/`);
  assert.notEqual(result, "status 200");
  await page.close();
});

test("the demo button runs the scripted agent and the pages fill up", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(ospbox.uiURL);
  await page.getByRole("button", { name: "Run the demo" }).click();
  await page.locator("#demo-card .badge", { hasText: "done" }).waitFor({ timeout: 60_000 });
  const steps = await page.locator(".demo-steps li").allInnerTexts();
  assert.ok(steps.some((s) => /soft budget/.test(s)) && steps.some((s) => /spending cap/.test(s)), steps.join("\n"));
  await page.screenshot({ path: `${shots}/overview-demo.png`, fullPage: true });
  await page.goto(`${ospbox.base}/ui/spend`);
  await page.locator('[data-refused="budget_exceeded"]').first().waitFor();
  await page.screenshot({ path: `${shots}/spend-after-demo.png`, fullPage: true });
  await page.close();
});

test("the Agents page sends an event, shows the trace and pauses the agent", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/agents`);
  const triage = page.locator('[data-agent="triage"]');
  await triage.waitFor();
  await page.getByRole("button", { name: "Send" }).click();
  await triage.locator("[data-trace]").first().waitFor({ timeout: 10_000 });
  await triage.getByRole("button", { name: "Pause" }).click();
  await triage.locator("[data-agent-status]", { hasText: "paused" }).waitFor();
  const r = await fetch(`${ospbox.base}/oap/agents/triage`);
  assert.equal((await r.json()).status, "paused");
  await page.screenshot({ path: `${shots}/agents.png`, fullPage: true });
  await page.close();
});
