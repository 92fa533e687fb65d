// Shared by the browser tests: start the real ospbox binary on a free port with a temporary
// workspace, and launch Debian's Chromium through playwright-core.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

export const bin = process.env.OSPBOX_BIN;

/** Where the tests write their screenshots (the README's come from here). */
export const shots = process.env.SCREENSHOT_DIR || "test-results";
if (!bin) throw new Error("set OSPBOX_BIN to the ospbox binary (make test does)");

/** Starts `ospbox serve` and resolves once it printed the UI link. */
export function startOspbox() {
  const workspace = mkdtempSync(join(tmpdir(), "ospbox-browser-"));
  const proc = spawn(bin, ["serve", "--workspace", workspace, "--addr", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("no UI link within 30s:\n" + stderr)), 30_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/UI\s+(http:\/\/127\.0\.0\.1:\d+)\/ui\/\?token=(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve({
          base: m[1],
          token: m[2],
          uiURL: `${m[1]}/ui/?token=${m[2]}`,
          workspace,
          stop() {
            proc.kill("SIGTERM");
            rmSync(workspace, { recursive: true, force: true });
          },
        });
      }
    });
    proc.on("exit", (code) => reject(new Error(`ospbox exited (${code}):\n${stderr}`)));
  });
}

/** Launches headless Chromium with the flags this machine needs. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** Starts ospbox and Chromium before a test file's tests, hands both to ready, and stops them after. */
export function session(ready) {
  let ospbox, browser;
  before(async () => {
    mkdirSync(shots, { recursive: true });
    ospbox = await startOspbox();
    browser = await launchBrowser();
    ready(ospbox, browser);
  });
  after(async () => {
    await browser?.close();
    ospbox?.stop();
  });
}
