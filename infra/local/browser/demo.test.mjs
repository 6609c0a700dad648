// Browser test of the demo client served by the local gateway: headless
// Chromium (Debian's) driven by playwright-core. run.sh starts a local
// stack and passes its local.json in LOCAL_JSON.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { chromium } from "playwright-core";

const local = JSON.parse(fs.readFileSync(process.env.LOCAL_JSON, "utf8"));
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

// open logs in as user in a fresh browser context and waits for the
// WebSocket to be up.
async function open(user) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(`${user}: ${e.message}`));
  await page.goto(`${local.rest_url}/demo/?user=${user}`);
  await page.waitForFunction(() => window.demo && window.demo.connected, null, { timeout: 20000 });
  return page;
}

test("demo users connect over the WebSocket and ping", async () => {
  for (const user of ["alice", "bob"]) {
    const page = await open(user);
    assert.equal(await page.textContent("[data-testid=me]"), user);
    assert.equal(await page.textContent("[data-testid=status]"), "online");
    await page.click("#ping");
    await page.waitForFunction(() => window.demo.pongs === 1, null, { timeout: 10000 });
    await page.context().close();
  }
  assert.deepEqual(errors, []);
});

// The real-time chat protocol (send over the WebSocket, message pushes)
// is being finished in functions/websocket; PUSH tells this test whether
// to require live delivery. Set TOKENIM_BROWSER_PUSH=0 to skip it.
const push = process.env.TOKENIM_BROWSER_PUSH !== "0";

test("alice's messages appear on bob's page live, in order, once", { skip: !push && "push not enabled" }, async () => {
  const alice = await open("alice");
  const bob = await open("bob");
  for (const page of [alice, bob]) {
    await page.fill("#dm-input", page === alice ? "bob" : "alice");
    await page.click("#dm-form button");
  }
  const stamp = Date.now().toString(36);
  const texts = [1, 2, 3].map((i) => `hello ${i} ${stamp}`);
  const pushesBefore = await bob.evaluate(() => window.demo.pushes);
  for (const text of texts) {
    await alice.fill("[data-testid=text]", text);
    await alice.click("#send");
    await alice.waitForFunction((t) => [...document.querySelectorAll("#messages .body")].some((e) => e.textContent === t), text, { timeout: 10000 });
  }
  await bob.waitForFunction((want) => {
    const got = [...document.querySelectorAll("#messages .body")].map((e) => e.textContent);
    return want.every((t) => got.includes(t));
  }, texts, { timeout: 15000 });
  const shown = await bob.$$eval("#messages .body", (els) => els.map((e) => e.textContent));
  const mine = shown.filter((t) => texts.includes(t));
  assert.deepEqual(mine, texts, "in order, each once");
  const pushes = await bob.evaluate(() => window.demo.pushes);
  assert.ok(pushes - pushesBefore >= texts.length, `bob received ${pushes - pushesBefore} pushes, want ${texts.length}`);

  // Bob has the DM open, so he read them: alice sees the read receipt.
  await alice.waitForSelector("#messages li.mine:last-child [data-testid=receipt]", { timeout: 10000 });
  // Typing indicator: alice types, bob sees it.
  await alice.type("[data-testid=text]", "typing", { delay: 20 });
  await bob.waitForFunction(() => document.querySelector("#typing").textContent.includes("alice is typing"), null, { timeout: 10000 });
  assert.deepEqual(errors, []);
});

test("unread counts in the conversation list", { skip: !push && "push not enabled" }, async () => {
  const bob = await open("bob");
  await bob.waitForSelector("[data-conversation]", { timeout: 10000 });
  const alice = await open("alice");
  await alice.click(`[data-conversation="g:${local.demo_group_id}"]`);
  await alice.fill("[data-testid=text]", "group hello");
  await alice.click("#send");
  // Bob has no conversation open: the group's badge counts the new message.
  await bob.waitForFunction((id) => {
    const b = document.querySelector(`[data-conversation="g:${id}"] [data-testid=unread]`);
    return b && Number(b.textContent) >= 1;
  }, local.demo_group_id, { timeout: 10000 });
  assert.deepEqual(errors, []);
});

test("a recall reaches bob's open DM in place, not as a new bubble", { skip: !push && "push not enabled" }, async () => {
  const alice = await open("alice");
  const bob = await open("bob");
  for (const page of [alice, bob]) {
    await page.fill("#dm-input", page === alice ? "bob" : "alice");
    await page.click("#dm-form button");
    // Count bubbles only once the DM's history is on the page.
    await page.waitForFunction(() => window.demo.loaded.has("dm:alice:bob"), null, { timeout: 15000 });
  }
  const text = `oops ${Date.now().toString(36)}`;
  await alice.fill("[data-testid=text]", text);
  await alice.click("#send");
  const seq = await bob.waitForFunction((t) => {
    const li = [...document.querySelectorAll("#messages li")].find((l) => l.querySelector(".body")?.textContent === t);
    return li && Number(li.dataset.seq);
  }, text, { timeout: 15000 }).then((h) => h.jsonValue());
  const bubbles = await bob.$$eval("#messages li", (els) => els.length);

  const token = local.demo_users.find((u) => u.user_id === "alice").token;
  const res = await fetch(`${local.rest_url}/v1/conversations/dm:alice:bob/messages/${seq}/recall`, {
    method: "POST", headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200, await res.text());

  await bob.waitForFunction((s) => document.querySelector(`#messages li[data-seq="${s}"] .body`)?.textContent === "(recalled)", seq, { timeout: 15000 });
  assert.equal(await bob.$$eval("#messages li", (els) => els.length), bubbles, "the recall event is not a bubble");
  assert.match(await bob.textContent(`[data-conversation="dm:alice:bob"] .preview`), /alice recalled a message/);
  assert.deepEqual(errors, []);
});

test("a new user signs up through the local Cognito stand-in and chats at once", { skip: (!local.user_pool && "no user pool") || (!push && "push not enabled") }, async () => {
  const alice = await open("alice");
  const ctx = await browser.newContext();
  const zoe = await ctx.newPage();
  zoe.on("pageerror", (e) => errors.push(`zoe: ${e.message}`));
  await zoe.goto(`${local.rest_url}/demo/`);
  await zoe.fill("[data-testid=signup-name]", "Zoe");
  await zoe.click("#signup-form button");
  // Sign-up (trigger creates the account) -> ID token -> token exchange -> WebSocket.
  await zoe.waitForFunction(() => window.demo && window.demo.connected, null, { timeout: 20000 });
  const me = await zoe.textContent("[data-testid=me]");
  assert.match(me, /^[0-9a-f-]{36}$/, "the chat user id is the Cognito sub");

  await zoe.fill("#dm-input", "alice");
  await zoe.click("#dm-form button");
  const text = `hi from zoe ${Date.now().toString(36)}`;
  await zoe.fill("[data-testid=text]", text);
  await zoe.click("#send");
  await alice.waitForFunction((t) => [...document.querySelectorAll("[data-conversation] .preview")].some((e) => e.textContent.includes(t)), text, { timeout: 15000 });
  assert.deepEqual(errors, []);
});
