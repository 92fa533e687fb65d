// Browser test of the Catalog: every copy-ready command it offers works when pasted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});

test("every provision command the Catalog offers provisions when pasted into a shell", async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(ospbox.uiURL.replace("/ui/?", "/ui/catalog?"));
  const commands = await page.locator("[data-provision-command]").allInnerTexts();
  assert.equal(commands.length, 6, "one command per sample service");
  for (const command of commands) {
    assert.match(command, /^curl /);
    // The command as a person pastes it, run by a shell; -w appends the status.
    const out = execFileSync("bash", ["-c", `${command} -w '\\n%{http_code}'`], { encoding: "utf8" });
    const status = out.trim().split("\n").pop();
    assert.ok(status === "201" || status === "202", `${command}\n→ ${out}`);
  }
  await page.screenshot({ path: `${shots}/catalog.png`, fullPage: false });
  await page.close();
});
