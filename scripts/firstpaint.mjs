// First paint of UI pages after the demo, for two ospbox binaries in the same run: each serves a
// throwaway workspace filled by `ospbox demo`, and the pages are loaded alternately in fresh
// Chromium contexts (cold cache), so the machine's noise falls on both alike.
//   node scripts/firstpaint.mjs BASE_BIN HEAD_BIN [rounds]
// Prints each page's median first contentful paint for both and the ratio head / base.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(process.cwd(), "frontend", "package.json"));
const { chromium } = require("playwright-core");
const [baseBin, headBin, roundsArg] = process.argv.slice(2);
if (!baseBin || !headBin) throw new Error("usage: node scripts/firstpaint.mjs BASE_BIN HEAD_BIN [rounds]");
const rounds = Number(roundsArg || 15);
const pages = ["/ui/", "/ui/spend"];

function serve(bin) {
  const workspace = mkdtempSync(join(tmpdir(), "ospbox-paint-"));
  const proc = spawn(bin, ["serve", "--workspace", workspace, "--addr", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/UI\s+(http:\/\/127\.0\.0\.1:\d+)\/ui\/\?token=(\S+)/);
      if (m) resolve({ base: m[1], ui: `${m[1]}/ui/?token=${m[2]}`, stop: () => (proc.kill("SIGTERM"), rmSync(workspace, { recursive: true, force: true })) });
    });
    proc.on("exit", (code) => reject(new Error(`${bin} exited ${code}`)));
  });
}

const servers = {};
for (const [name, bin] of [["base", baseBin], ["head", headBin]]) {
  servers[name] = await serve(bin);
  const demo = spawnSync(bin, ["demo", "--target", servers[name].base, "--namespace", "default", "--speed", "0"], { encoding: "utf8" });
  if (demo.status !== 0) throw new Error(`${name}: demo failed\n${demo.stderr}`);
}
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu"] });
const samples = {};
for (let i = 0; i < rounds + 2; i++) {
  for (const name of i % 2 ? ["head", "base"] : ["base", "head"]) {
    for (const path of pages) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(servers[name].ui); // sets the token cookie
      await page.goto(servers[name].base + path, { waitUntil: "load" });
      const fcp = await page.evaluate(() => new Promise((resolve) => {
        const seen = performance.getEntriesByName("first-contentful-paint")[0];
        if (seen) return resolve(seen.startTime);
        new PerformanceObserver((l) => resolve(l.getEntries()[0].startTime)).observe({ type: "paint", buffered: true });
      }));
      await context.close();
      if (i >= 2) (samples[`${name} ${path}`] ??= []).push(fcp); // the first two rounds warm up
    }
  }
}
await browser.close();
for (const s of Object.values(servers)) s.stop();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const path of pages) {
  const b = median(samples[`base ${path}`]), h = median(samples[`head ${path}`]);
  console.log(`${path.padEnd(10)} first paint: base ${b.toFixed(1)} ms, head ${h.toFixed(1)} ms, head/base ${(h / b).toFixed(2)} (median of ${rounds})`);
}
