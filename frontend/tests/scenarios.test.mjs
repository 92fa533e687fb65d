// Browser test of the Scenarios page: a rule typed into the editor is linted live at its line,
// added, and fails the next call like the request it was made from; the Requests page marks
// the request it touched and links the rule; the rule can be switched off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

const provision = () =>
  fetch(`${ospbox.base}/providers/acmedb/osp/v1/provision`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ offering_id: "acmedb/redis", tier_id: "free" }),
  });

test("a rule made from a request fails calls like it, and the Requests page says so", async () => {
  assert.equal((await provision()).status, 201);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/requests`);
  await page.locator('tr:has-text("/osp/v1/provision") a').first().click();
  await page.getByRole("link", { name: "Fail calls like this" }).click();
  await page.waitForFunction(() => document.getElementById("rule-editor")?.dataset.ready === "true");
  const draft = await page.locator(".cm-content").innerText();
  assert.match(draft, /"operation": "osp.provision"/, "the draft matches the request's operation");

  // A mistake is linted at its place before anything is saved.
  const rule = draft.replace(/\s+/g, " ");
  const wrong = rule.replace('"times": 1', '"times": 1, "colour": 1');
  assert.notEqual(wrong, rule);
  await page.locator(".cm-content").click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(wrong);
  await page.waitForFunction(() => /colour/.test(document.getElementById("rule-problems").innerText));
  assert.match(await page.locator("#rule-problems").innerText(), /1:\d+ \/when\/colour: "colour" is not a member/);
  await page.screenshot({ path: `${shots}/scenarios-editor-1280.png` });
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(rule);
  await page.waitForFunction(() => document.getElementById("rule-problems").children.length === 0);

  await page.getByRole("button", { name: "Add rule" }).click();
  await page.locator("#scenarios-live .notice").waitFor();
  assert.equal(await page.locator("#scenarios-live .notice.err").count(), 0, await page.locator("#scenarios-live").innerText());
  const id = await page.locator("tr[data-rule]").first().getAttribute("data-rule");
  assert.ok(id, "the rule is listed");

  // The next provision fails as the rule says; the one after is normal again (times 1).
  const failed = await provision();
  assert.equal(failed.status, 503);
  assert.equal((await failed.json()).error.code, "provider_unavailable");
  assert.equal((await provision()).status, 201);
  await page.waitForFunction((id) => /1 \/ 2/.test(document.querySelector(`tr[data-rule="${id}"] [data-hits]`)?.innerText ?? ""), id, { timeout: 10000 });
  await page.screenshot({ path: `${shots}/scenarios-1280.png` });

  await page.goto(`${ospbox.base}/ui/requests`);
  const marked = page.locator(`a.badge[href="/ui/scenarios#rule-${id}"]`);
  assert.equal(await marked.count(), 1, "exactly the failed request carries the rule");
  assert.match(await page.locator("tr", { has: marked }).innerText(), /503/);
  await page.screenshot({ path: `${shots}/requests-scenario-1280.png` });

  await page.goto(`${ospbox.base}/ui/scenarios`);
  await page.getByRole("button", { name: `Disable rule ${id}` }).click();
  await page.locator(`tr[data-rule="${id}"].disabled`).waitFor();
  const saved = await (await fetch(`${ospbox.base}/ospbox/v1/scenarios/${id}`)).json();
  assert.equal(saved.enabled, false, "the API sees the rule switched off");
  await page.close();

  const narrow = await browser.newPage({ viewport: { width: 800, height: 1200 } });
  await narrow.goto(ospbox.uiURL);
  await narrow.goto(`${ospbox.base}/ui/scenarios`);
  await narrow.waitForFunction(() => document.getElementById("rule-editor")?.dataset.ready === "true");
  await narrow.screenshot({ path: `${shots}/scenarios-800.png` });
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the window at 800 px`);
  await narrow.close();
});
