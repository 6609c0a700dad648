// Browser test of offline push on the local stack (docs/push.md,
// "Locally"): the demo phone (demo/phone.html) registers a device for bob
// and shows what PushFunction would have sent it, as recorded at
// GET /_local/push. run.sh starts the stack and passes local.json.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { chromium } from "playwright-core";

const local = JSON.parse(fs.readFileSync(process.env.LOCAL_JSON, "utf8"));
const token = (user) => local.demo_users.find((u) => u.user_id === user).token;
const errors = [];
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { await browser?.close(); });

async function send(from, to, text) {
  const res = await fetch(`${local.rest_url}/v1/messages`, {
    method: "POST",
    headers: { Authorization: "Bearer " + token(from), "Content-Type": "application/json" },
    body: JSON.stringify({ to_user: to, text }),
  });
  const body = await res.text();
  assert.equal(res.status, 201, body);
  return JSON.parse(body);
}

const shown = (page) => page.$$eval("[data-testid=push]", (els) => els.map((e) => e.textContent));

test("bob's phone shows alice's DMs while he is offline, newest first with the badge; none once he is online", async () => {
  const ctx = await browser.newContext();
  const phone = await ctx.newPage();
  phone.on("pageerror", (e) => errors.push(`phone: ${e.message}`));
  await phone.goto(`${local.rest_url}/demo/phone.html?user=bob`);
  await phone.waitForFunction(() => window.phone && window.phone.registered, null, { timeout: 20000 });
  assert.match(await phone.textContent("[data-testid=phone-user]"), /bob's phone/);
  const before = await phone.evaluate(() => window.phone.pushes.length);

  const stamp = Date.now().toString(36);
  const texts = [1, 2, 3].map((i) => `offline ${i} ${stamp}`);
  const seqs = [];
  for (const text of texts) seqs.push((await send("alice", "bob", text)).seq);
  // The phone polls every 2 s; the worker runs from PushQueue.
  await phone.waitForFunction((want) => {
    const got = window.phone.pushes.map((p) => p.alert.body);
    return want.every((t) => got.includes(t));
  }, texts, { timeout: 30000 });
  const pushes = (await phone.evaluate(() => window.phone.pushes)).slice(before).filter((p) => texts.includes(p.alert.body));
  assert.deepEqual(pushes.map((p) => p.alert.body), texts, "each once, in send order");
  assert.deepEqual(pushes.map((p) => p.alert.data.seq), seqs.map(String));
  for (const p of pushes) {
    assert.equal(p.platform, "fcm");
    assert.equal(p.alert.title, "alice");
    assert.equal(p.alert.data.conversation_id, "dm:alice:bob");
    assert.ok(p.alert.badge >= 1, `badge ${p.alert.badge}`);
    assert.ok(!JSON.stringify(p).includes("demo-phone-bob-xxxx"), "the token is not listed");
  }
  // The lock screen lists them newest first, with the badge.
  await phone.waitForFunction((t) => document.querySelector("[data-testid=push]")?.textContent.includes(t), texts[2], { timeout: 5000 });
  const top = (await shown(phone))[0];
  assert.ok(top.includes("alice") && top.includes(texts[2]) && top.includes(String(pushes[2].alert.badge)), top);

  // bob opens his chat tab: he is online, the next message reaches the
  // tab and not the phone.
  const tab = await ctx.newPage();
  tab.on("pageerror", (e) => errors.push(`bob: ${e.message}`));
  await tab.goto(`${local.rest_url}/demo/?user=bob`);
  await tab.waitForFunction(() => window.demo && window.demo.connected, null, { timeout: 20000 });
  const online = `online ${stamp}`;
  const pushesBefore = await tab.evaluate(() => window.demo.pushes);
  await send("alice", "bob", online);
  await tab.waitForFunction((n) => window.demo.pushes > n, pushesBefore, { timeout: 15000 });
  await phone.waitForTimeout(6000); // three polls, and the worker's queue wait
  const after = (await phone.evaluate(() => window.phone.pushes)).map((p) => p.alert.body);
  assert.ok(!after.includes(online), "pushed to the phone while bob was online");

  // Listed by the recorder as well, per user.
  const rec = await (await fetch(`${local.rest_url}/_local/push?user_id=bob`)).json();
  assert.deepEqual(rec.pushes.filter((p) => p.device_id === "demo-phone" && texts.includes(p.alert.body)).length, 3);
  await ctx.close();
  assert.deepEqual(errors, []);
});
