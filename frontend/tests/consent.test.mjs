// Browser test of OAuth consent (spec/orchestrator.md §3): `ospbox projects add` of a service at a
// provider that links accounts by consent waits; every page prompts for it; Review goes through
// the provider's authorization server to the consent page; Approve (with one scope unticked)
// lets add finish with exactly the ticked scopes, Deny makes it fail with the provider's error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { bin, session, shots } from "./helpers.mjs";

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe's serious and critical violations on each page, in both themes. */
async function axeViolations(paths) {
  const found = [];
  for (const colorScheme of ["light", "dark"]) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true, colorScheme });
    const page = await context.newPage();
    await page.goto(ospbox.uiURL);
    for (const path of paths) {
      await page.goto(`${ospbox.base}${path}`);
      await page.addScriptTag({ content: axeSource });
      const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
      for (const v of result.violations) {
        if (v.impact === "serious" || v.impact === "critical") found.push(`${path} (${colorScheme}): ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(" | ")}`);
      }
    }
    await context.close();
  }
  return found;
}

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

const config = mkdtempSync(join(tmpdir(), "ospbox-consent-"));
const env = { ...process.env, XDG_CONFIG_HOME: config, OSPBOX_PROJECT_TOKEN: "", OSPBOX_PROJECT_ID: "" };

/** Starts `ospbox projects add` and resolves with its exit code and output when it ends. */
function add(service) {
  const proc = spawn(bin, ["projects", "--target", ospbox.base, "add", service, "--json", "--consent-wait", "60s"], { env });
  let stdout = "", stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => proc.on("exit", (code) => resolve({ code, stdout, stderr })));
}

/** Opens the Orchestrator page until the prompt for a waiting consent shows, and clicks Review. */
async function review(page) {
  await page.goto(ospbox.uiURL);
  for (let i = 0; i < 50; i++) {
    await page.goto(`${ospbox.base}/ui/orchestrator`);
    if (await page.locator(".consent-prompt").count()) break;
    await page.waitForTimeout(200);
  }
  await page.locator(".consent-prompt").getByRole("link", { name: "Review" }).first().click(); // the newest
  await page.waitForURL(/\/ui\/consent\?request=oar_/);
}

test("approving on the consent page lets projects add finish with the ticked scopes", async () => {
  const init = spawnSync(bin, ["projects", "--target", ospbox.base, "init", "consent-app"], { env, encoding: "utf8" });
  assert.equal(init.status, 0, init.stderr);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const running = add("skyhost/object-storage:standard"); // paid: a payment token too
  await review(page);
  assert.match(await page.locator("h2").first().innerText(), /skyhost\s+asks for access/);
  await page.getByText("consent-app").waitFor();
  await page.screenshot({ path: `${shots}/consent.png`, fullPage: true });
  // The consent page, and a page with the prompt, pass axe in both themes.
  const consentPath = new URL(page.url()).pathname + new URL(page.url()).search;
  assert.deepEqual(await axeViolations([consentPath, "/ui/orchestrator"]), []);
  await page.getByRole("checkbox").nth(2).uncheck(); // resources:delete
  await page.getByRole("button", { name: "Approve" }).click();
  await page.waitForURL(/\/ui\/orchestrator\?consent=cns_/);
  const notice = await page.locator(".notice.ok").innerText();
  assert.match(notice, /approved/);
  assert.match(notice, /provision resources:read/);
  assert.doesNotMatch(notice, /resources:delete/);
  await page.screenshot({ path: `${shots}/orchestrator-consent.png`, fullPage: false });

  const done = await running;
  assert.equal(done.code, 0, done.stderr);
  const added = JSON.parse(done.stdout);
  assert.equal(added.authorization, "oauth");
  assert.match(added.consent_id, /^cns_/);
  assert.ok(added.stored_credentials.length > 0);
  assert.match(added.payment_token, /^spt_/);
  await page.goto(`${ospbox.base}/ui/orchestrator`);
  await page.locator(`tr[data-consent="${added.consent_id}"][data-status="approved"]`).waitFor();
  await page.locator("tr[data-account]", { hasText: "oauth" }).waitFor();
  await page.close();
});

test("denying on the consent page makes projects add fail with access_denied", async () => {
  // A new project: the first one holds a grant at skyhost already, which add would use again.
  const init = spawnSync(bin, ["projects", "--target", ospbox.base, "init", "denied-app"], { env, encoding: "utf8" });
  assert.equal(init.status, 0, init.stderr);
  const page = await browser.newPage({ viewport: { width: 800, height: 900 } });
  const running = add("skyhost/static-site");
  await review(page);
  await page.getByRole("button", { name: "Deny" }).click();
  await page.waitForURL(/\/ui\/orchestrator\?consent=cns_/);
  assert.match(await page.locator(".notice.err").innerText(), /denied/);
  const done = await running;
  assert.notEqual(done.code, 0);
  assert.match(done.stderr, /denied skyhost\.example access/);
  await page.screenshot({ path: `${shots}/consent-denied.png`, fullPage: true });
  await page.close();
});
