// The demo phone: registers a demo device for ?user= (default bob) with
// the user's demo token, then polls the local push recorder and shows the
// pushes as a lock screen would. window.phone exposes them for tests.
"use strict";

const phone = { user: new URLSearchParams(location.search).get("user") || "bob", pushes: [], registered: false };
window.phone = phone;
const el = (id) => document.getElementById(id);

function tick() {
  el("clock").textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

async function register() {
  const info = await (await fetch("local.json")).json();
  const u = (info.demo_users || []).find((d) => d.user_id === phone.user);
  if (!u) { el("who").textContent = `${phone.user} is not a demo user`; return; }
  // An FCM-shaped token of the demo: pushes to it are recorded, never sent.
  const token = "demo-phone-" + phone.user + "-" + "x".repeat(32);
  const resp = await fetch(`/v1/users/${encodeURIComponent(phone.user)}/devices/demo-phone`, {
    method: "PUT",
    headers: { Authorization: "Bearer " + u.token, "Content-Type": "application/json" },
    body: JSON.stringify({ platform: "fcm", token, locale: navigator.language || "en", app_version: "demo" }),
  });
  phone.registered = resp.ok;
  el("who").textContent = resp.ok ? `${phone.user}'s phone · offline pushes` : `device registration failed (${resp.status})`;
}

function render() {
  const list = el("pushes");
  list.textContent = "";
  if (phone.pushes.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "No notifications. Close this user's chat tab and message them.";
    list.append(li);
    return;
  }
  for (const p of [...phone.pushes].reverse()) {
    const li = document.createElement("li");
    const head = document.createElement("div");
    head.className = "app";
    const app = document.createElement("span");
    app.textContent = "TokenIM · " + new Date(p.at).toLocaleTimeString();
    head.append(app);
    if (p.alert.badge > 0) {
      const b = document.createElement("span");
      b.className = "badge";
      b.textContent = p.alert.badge;
      head.append(b);
    }
    const title = document.createElement("div");
    title.className = "title";
    title.textContent = p.alert.title || "TokenIM";
    const body = document.createElement("div");
    body.textContent = p.alert.body;
    li.append(head, title, body);
    li.dataset.testid = "push";
    list.append(li);
  }
}

async function poll() {
  try {
    const resp = await fetch(`/_local/push?user_id=${encodeURIComponent(phone.user)}`);
    if (resp.ok) {
      // This phone only: the user may have other devices.
      phone.pushes = ((await resp.json()).pushes || []).filter((p) => p.device_id === "demo-phone");
      render();
    }
  } catch { /* the gateway restarts: try again */ }
}

tick();
setInterval(tick, 10000);
register().then(poll);
setInterval(poll, 2000);
