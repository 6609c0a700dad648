// Browser test of the API reference at /docs on the local gateway:
// Swagger UI renders docs/openapi.yaml, and an operation shows its success
// and failure examples. run.sh builds the site and passes LOCAL_JSON.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { chromium } from "playwright-core";

const local = JSON.parse(fs.readFileSync(process.env.LOCAL_JSON, "utf8"));
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { await browser?.close(); });

test("/docs renders the spec with its examples", async () => {
  const page = await (await browser.newContext()).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const resp = await page.goto(`${local.rest_url}/docs/`);
  assert.equal(resp.status(), 200);
  await page.waitForSelector(".swagger-ui .info .title", { timeout: 20000 });
  assert.match(await page.textContent(".swagger-ui .info .title"), /TokenIM REST API/);
  // Every tag's operations are listed; open one and read its examples.
  const op = page.locator("#operations-users-getUser");
  await op.locator(".opblock-summary").first().click();
  await op.locator(".responses-wrapper").waitFor({ timeout: 10000 });
  const text = await op.textContent();
  assert.match(text, /stu-0001/, "the success example");
  assert.match(text, /not_found/, "the failure example");
  assert.ok(await page.locator(".opblock").count() >= 31, "every operation is listed");
  assert.deepEqual(errors, []);
});
