// Browser tests of the Manifests page: the editor shows the validator's findings on the right
// line, follows edits made on disk, validates unsaved text, saves atomically and refuses to
// overwrite a file that changed on disk — while the mock keeps serving the last good version.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { session, shots } from "./helpers.mjs";

let ospbox, browser;
session((o, b) => {
  ospbox = o;
  browser = b;
});
const file = "providers/acmedb/osp.json";


const diskPath = () => join(ospbox.workspace, file);

// atomicWrite saves the way many editors do: a temporary file renamed over the original.
function atomicWrite(path, text) {
  writeFileSync(path + ".tmp~", text);
  renameSync(path + ".tmp~", path);
}

async function openEditor() {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(ospbox.uiURL);
  await page.goto(`${ospbox.base}/ui/manifests?file=${encodeURIComponent(file)}`);
  await page.waitForFunction(() => window.ospboxEditor !== undefined);
  await page.waitForFunction(() => document.body.dataset.live === "open");
  return page;
}

const lineOf = (text, needle) => text.slice(0, text.indexOf(needle)).split("\n").length;

// errorLines reads which lines the editor marks with an error in the gutter.
const errorLines = (page) =>
  page.evaluate(() => {
    const view = window.ospboxEditor;
    const lines = [];
    for (const m of document.querySelectorAll(".cm-lint-marker-error")) {
      const block = view.lineBlockAtHeight(m.getBoundingClientRect().top - view.documentTop + 2);
      lines.push(view.state.doc.lineAt(block.from).number);
    }
    return lines;
  });

test("an edit on disk shows its error on the right line, and the mock keeps the last good version", async () => {
  const page = await openEditor();
  const good = readFileSync(diskPath(), "utf8");
  const servedBefore = await (await fetch(`${ospbox.base}/providers/acmedb/.well-known/osp.json`)).text();
  assert.deepEqual(await errorLines(page), []);

  const broken = good.replace('"25.00"', '"25.000"');
  atomicWrite(diskPath(), broken);
  const line = lineOf(broken, '"25.000"');
  await page.waitForFunction((l) => window.ospboxEditor.state.doc.toString().includes('"25.000"'), line);
  await page.waitForFunction(() => document.querySelectorAll(".cm-lint-marker-error").length > 0);
  assert.deepEqual(await errorLines(page), [line]);
  assert.match(await page.locator("#problems").innerText(), new RegExp(`${line}:\\d+\\s+amount must be a decimal string`));
  await page.locator('#manifest-tree [data-file="providers/acmedb/osp.json"] .badge.err').waitFor();
  assert.match(await page.locator("#file-status").innerText(), /on disk: 1 error/);
  assert.match(await page.locator("#file-status").innerText(), /serving v1/);
  await page.screenshot({ path: `${shots}/manifests-error.png` });

  const servedDuring = await (await fetch(`${ospbox.base}/providers/acmedb/.well-known/osp.json`)).text();
  assert.equal(servedDuring, servedBefore, "a broken edit must not change what is served");

  atomicWrite(diskPath(), good);
  await page.waitForFunction(() => !window.ospboxEditor.state.doc.toString().includes('"25.000"'));
  await page.waitForFunction(() => document.querySelectorAll(".cm-lint-marker-error").length === 0);
  await page.locator('#manifest-tree [data-file="providers/acmedb/osp.json"] .badge.err').waitFor({ state: "detached" });
  await page.close();
});

test("typing is validated before saving, and clicking a problem moves the cursor there", async () => {
  const page = await openEditor();
  const text = await page.evaluate(() => window.ospboxEditor.state.doc.toString());
  const at = text.indexOf('"currency": "USD"');
  await page.evaluate((pos) => {
    window.ospboxEditor.dispatch({ changes: { from: pos + 13, to: pos + 16, insert: "usd" } });
  }, at);
  await page.locator("#dirty").waitFor({ state: "visible" });
  await page.waitForFunction(() => document.querySelectorAll(".cm-lint-marker-error").length > 0);
  assert.deepEqual(await errorLines(page), [lineOf(text, '"currency": "USD"')]);
  await page.locator("#problems li", { hasText: "currency" }).click();
  const cursorLine = await page.evaluate(() => {
    const v = window.ospboxEditor;
    return v.state.doc.lineAt(v.state.selection.main.head).number;
  });
  assert.equal(cursorLine, lineOf(text, '"currency": "USD"'));
  // Nothing was saved.
  assert.equal(readFileSync(diskPath(), "utf8"), text);
  await page.close();
});

test("save writes the file; a file changed on disk since loading is not overwritten", async () => {
  const page = await openEditor();
  const original = readFileSync(diskPath(), "utf8");
  await page.evaluate(() => {
    const v = window.ospboxEditor;
    const pos = v.state.doc.toString().indexOf('"Managed Postgres"');
    v.dispatch({ changes: { from: pos + 1, to: pos + 8, insert: "Hosted" } });
  });
  await page.click("#save");
  await page.locator("#dirty").waitFor({ state: "hidden" });
  assert.match(readFileSync(diskPath(), "utf8"), /"Hosted Postgres"/);
  // The mock serves the saved version once the watcher picks it up.
  for (let i = 0; i < 100; i++) {
    const served = await (await fetch(`${ospbox.base}/providers/acmedb/.well-known/osp.json`)).text();
    if (served.includes("Hosted Postgres")) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(await (await fetch(`${ospbox.base}/providers/acmedb/.well-known/osp.json`)).text(), /Hosted Postgres/);

  // Someone else edits the file, the page does not see it yet (edit in the page first so it is
  // dirty), and then the page saves: conflict, nothing overwritten.
  await page.evaluate(() => {
    const v = window.ospboxEditor;
    const pos = v.state.doc.toString().indexOf('"Hosted Postgres"');
    v.dispatch({ changes: { from: pos + 1, to: pos + 7, insert: "Mine" } });
  });
  const theirs = readFileSync(diskPath(), "utf8").replace('"Hosted Postgres"', '"Their Postgres"');
  writeFileSync(diskPath(), theirs);
  await page.click("#save");
  await page.locator("#conflict").waitFor({ state: "visible" });
  assert.match(await page.locator("#conflict").innerText(), /changed on disk/);
  assert.equal(readFileSync(diskPath(), "utf8"), theirs, "the other edit must survive");
  await page.screenshot({ path: `${shots}/manifests-conflict.png` });
  atomicWrite(diskPath(), original);
  await page.close();
});
