// An agent's provisioning, tested against ospbox with node's test runner: one ospbox per file
// (`serve --ephemeral --ready json`), one namespace per test, provision → move the clock →
// verify what the agent sent (spec/control.md). Point OSPBOX_BIN at the ospbox binary.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

let ospbox, base, ns;

async function call(method, url, body) {
  const r = await fetch(url, { method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
  return { status: r.status, body: await r.json().catch(() => null) };
}

before(async () => {
  ospbox = spawn(process.env.OSPBOX_BIN || "ospbox", ["serve", "--ephemeral", "--ready", "json", "--addr", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const [line] = await new Promise((resolve) => createInterface({ input: ospbox.stdout }).once("line", (l) => resolve([l])));
  const ready = JSON.parse(line);
  assert.equal(ready.ready, true);
  base = ready.base_url;
});

after(async () => {
  ospbox.kill("SIGTERM");
  const code = await new Promise((resolve) => ospbox.once("exit", resolve));
  assert.equal(code, 0);
});

beforeEach(async () => {
  const r = await call("POST", `${base}/ospbox/v1/namespaces`, { from: "empty" });
  assert.equal(r.status, 201);
  ns = r.body;
});

afterEach(async () => {
  await call("DELETE", `${base}/ospbox/v1/namespaces/${ns.id}`);
});

test("a sandbox expires on the namespace's clock", async () => {
  const p = await call("POST", `${ns.base_url}/osp/v1/provision`, {
    offering_id: "acmedb/redis", tier_id: "free", sandbox: { enabled: true, ttl_hours: 1 },
  });
  assert.equal(p.status, 201);
  assert.equal((await call("POST", `${ns.base_url}/ospbox/v1/clock/advance`, { seconds: 3660 })).status, 200);
  assert.equal((await call("GET", `${ns.base_url}/osp/v1/resources/${p.body.resource_id}`)).status, 404);
  const v = await call("POST", `${ns.base_url}/ospbox/v1/requests/verify`, {
    match: { method: "POST", path: "/osp/v1/provision", body: { "/offering_id": "acmedb/redis" } }, count: 1,
  });
  assert.equal(v.status, 200, JSON.stringify(v.body));
});

test("a verify that does not hold names the near misses", async () => {
  await call("POST", `${ns.base_url}/osp/v1/provision`, { offering_id: "acmedb/redis", tier_id: "free" });
  const v = await call("POST", `${ns.base_url}/ospbox/v1/requests/verify`, {
    match: { method: "POST", path: "/osp/v1/provision", body: { "/tier_id": "pay-as-you-go" } }, count: 1,
  });
  assert.equal(v.status, 409);
  assert.match(v.body.error.details.near_misses[0].differences[0], /tier_id: "free", wanted "pay-as-you-go"/);
});
