// A private local stack for the SDK tests: tokenim-local (infra/local) on
// fixed free ports of 127.0.0.1 with its own state dir and table prefix,
// against the emulator at AWS_ENDPOINT_URL. restart() stops it and starts
// it again on the same ports and tables, as a server restart does.
import { spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class LocalStack {
  static available() {
    return Boolean(process.env.AWS_ENDPOINT_URL && process.env.TOKENIM_LOCAL && process.env.TOKENIM_BIN);
  }

  async start() {
    this.state = mkdtempSync(join(tmpdir(), "tokenim-sdk-"));
    this.prefix = `sdk${process.pid}x${Date.now() % 100000}-`;
    this.restPort = await freePort();
    this.wsPort = await freePort();
    await this.launch();
    const info = JSON.parse(readFileSync(join(this.state, "local.json"), "utf8"));
    this.restURL = info.rest_url;
    this.wsURL = info.websocket_url;
    this.admin = info.admin;
  }

  async launch() {
    const local = join(this.state, "local.json");
    this.proc = spawn(
      process.env.TOKENIM_LOCAL,
      ["-rest", `127.0.0.1:${this.restPort}`, "-ws", `127.0.0.1:${this.wsPort}`, "-state", this.state, "-bin", process.env.TOKENIM_BIN, "-prefix", this.prefix, ...(process.env.TOKENIM_SDK_LOG ? [] : ["-quiet"]), "-param", "CognitoUserPool=none"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.log = "";
    this.proc.stderr.on("data", (d) => {
      this.log = (this.log + d).slice(-20000);
      if (process.env.TOKENIM_SDK_LOG) appendFileSync(process.env.TOKENIM_SDK_LOG, d);
    });
    const exited = new Promise((resolve) => this.proc.once("exit", resolve));
    this.exited = exited;
    for (let i = 0; i < 400; i++) {
      if (existsSync(local)) return;
      if (this.proc.exitCode !== null) break;
      await sleep(100);
    }
    throw new Error("tokenim-local did not start:\n" + this.log.slice(-3000));
  }

  /** restart stops the gateway (every socket drops) and starts it again. */
  async restart({ downMs = 0 } = {}) {
    await this.stop({ keepState: true });
    if (downMs) await sleep(downMs);
    await this.launch();
  }

  async stop({ keepState = false } = {}) {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill("SIGTERM");
      const t = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
      await this.exited;
      clearTimeout(t);
    }
    if (!keepState) rmSync(this.state, { recursive: true, force: true });
  }

  async rest(method, path, body, token) {
    const headers = { Authorization: "Bearer " + (token ?? (await this.adminToken())) };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(this.restURL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await resp.text();
    const data = text ? JSON.parse(text) : {};
    if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
    return data;
  }

  async adminToken() {
    if (this.admin.token) return this.admin.token;
    const form = new URLSearchParams({ grant_type: "client_credentials", client_id: this.admin.key_id, client_secret: this.admin.secret });
    const resp = await fetch(this.restURL + "/v1/auth/token", { method: "POST", body: form });
    const data = await resp.json();
    if (!resp.ok) throw new Error("admin token: " + JSON.stringify(data));
    return (this.admin.token = data.access_token);
  }

  /** user creates a user with a unique id and returns it with a token minter. */
  async user(name) {
    const userId = `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    await this.rest("POST", "/v1/users", { user_id: userId });
    return { userId, mint: async () => (await this.rest("POST", `/v1/users/${userId}/tokens`, {})).access_token };
  }
}
