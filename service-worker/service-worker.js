/* The care plan tracker's service worker. Served at /service-worker.js (root scope) with
   Cache-Control: no-cache. The server puts the release's content hash in VERSION and the
   list of files to precache in PRECACHE, so each release replaces the last cleanly. */
"use strict";

const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const SHELL_CACHE = `shell-${VERSION}`;
const PAGES_CACHE = "pages";
const OFFLINE_URL = "/offline";

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll([...PRECACHE, OFFLINE_URL])).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("shell-") && n !== SHELL_CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

/* Pages the person may need without a signal: their Today page, plan, goals and Help now. */
const OFFLINE_READABLE = [/^\/records\/[a-z0-9]+\/(today|plan|help-now)$/, /^\/records\/[a-z0-9]+\/goals\/[a-z0-9]+$/];

function readableOffline(url) {
  return url.origin === self.location.origin && OFFLINE_READABLE.some((re) => re.test(url.pathname));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && OFFLINE_FORMS.some((re) => re.test(url.pathname))) {
    event.respondWith(postOrQueue(request, url));
    return;
  }
  if (request.method !== "GET") return;

  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(networkThenCache(request, url));
  }
});

/* A record page the server no longer shows this person (sharing stopped, or the record was
   deleted) answers 404: then no page of that record may stay saved on this phone. */
async function forgetRecordPages(url) {
  const match = url.pathname.match(/^\/records\/([a-z0-9]+)(\/|$)/);
  if (!match) return;
  const cache = await caches.open(PAGES_CACHE);
  for (const saved of await cache.keys()) {
    const path = new URL(saved.url).pathname;
    if (path === `/records/${match[1]}` || path.startsWith(`/records/${match[1]}/`)) await cache.delete(saved);
  }
}

async function networkThenCache(request, url) {
  try {
    const response = await fetch(request);
    if (response.status === 404) await forgetRecordPages(url);
    if (response.ok && readableOffline(url) && !response.redirected) {
      const copy = response.clone();
      const stamped = new Response(await copy.blob(), {
        status: copy.status,
        headers: { "Content-Type": copy.headers.get("Content-Type") || "text/html", "X-Saved-At": new Date().toISOString() },
      });
      const cache = await caches.open(PAGES_CACHE);
      await cache.put(url.pathname, stamped);
    }
    return response;
  } catch (error) {
    const saved = readableOffline(url) ? await caches.match(url.pathname, { cacheName: PAGES_CACHE }) : undefined;
    return saved || (await caches.match(OFFLINE_URL)) || Response.error();
  }
}

/* ---- Logging offline: the outbox ------------------------------------------------------
   Forms that work offline (mood, symptom reading, diary, marking an action, carer support)
   carry a client_key made on the phone. When the request cannot reach the server, whether
   the phone is offline or only the server is unreachable, it is kept in IndexedDB and sent
   later: on Background Sync where it exists, and when a page loads or the phone comes back
   online. The key makes a replay harmless. A replay the server refuses is kept and the
   person is told; nothing is dropped silently. */
const OFFLINE_FORMS = [
  /^\/records\/[a-z0-9]+\/mood$/,
  /^\/records\/[a-z0-9]+\/symptoms\/[a-z0-9]+$/,
  /^\/records\/[a-z0-9]+\/diary\/new$/,
  /^\/records\/[a-z0-9]+\/actions\/[a-z0-9]+\/mark$/,
  /^\/records\/[a-z0-9]+\/support\/new$/,
];
const DB_NAME = "tracker-outbox";

function openDb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = () => {
      open.result.createObjectStore("outbox", { keyPath: "key" });
      open.result.createObjectStore("refused", { keyPath: "key" });
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function withStore(name, mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const result = work(tx.objectStore(name));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

const SAVED_TEXT = "Saved on this phone — will send when you're back online.";

async function postOrQueue(request, url) {
  const body = await request.clone().text();
  try {
    return await fetch(request);
  } catch (error) {
    const key = new URLSearchParams(body).get("client_key") || `${Date.now()}${Math.random().toString(16).slice(2)}`;
    await withStore("outbox", "readwrite", (store) => store.put({ key, url: url.pathname, body, savedAt: new Date().toISOString() }));
    if (self.registration.sync) {
      try { await self.registration.sync.register("outbox"); } catch (e) { /* the online event and page loads will send it */ }
    }
    await tellPages();
    const fragment = `<div class="nhsuk-inset-text app-saved-offline" role="status"><p><strong>${SAVED_TEXT}</strong></p></div>`;
    if (request.headers.get("HX-Request") === "true") {
      return new Response(fragment, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
    }
    const back = request.referrer && new URL(request.referrer).origin === self.location.origin ? new URL(request.referrer).pathname : "/";
    const page = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Saved on this phone – Care plan tracker</title><link rel="stylesheet" href="/static/vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.css"><link rel="stylesheet" href="/static/css/app.css"></head><body><div class="nhsuk-width-container"><main class="nhsuk-main-wrapper" id="maincontent"><h1>Saved on this phone</h1>${fragment}<p><a href="${back}">Go back</a></p></main></div></body></html>`;
    return new Response(page, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}

let replaying = null;

function replay() {
  if (!replaying) replaying = sendOutbox().finally(() => { replaying = null; });
  return replaying;
}

async function sendOutbox() {
  const items = (await withStore("outbox", "readonly", (store) => store.getAll())) || [];
  for (const item of items.sort((a, b) => a.savedAt.localeCompare(b.savedAt))) {
    let response;
    try {
      response = await fetch(item.url, {
        method: "POST",
        body: item.body,
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
    } catch (error) {
      break; // still offline: try again later
    }
    if (new URL(response.url).pathname === "/sign-in") {
      break; // signed out: keep it until the person signs in again
    }
    await withStore("outbox", "readwrite", (store) => store.delete(item.key));
    if (!response.ok) {
      await withStore("refused", "readwrite", (store) => store.put({ ...item, status: response.status }));
    }
  }
  await tellPages();
}

async function counts() {
  const waiting = (await withStore("outbox", "readonly", (store) => store.count())) || 0;
  const refused = (await withStore("refused", "readonly", (store) => store.getAll())) || [];
  return { waiting, refused };
}

async function tellPages() {
  const state = await counts();
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) client.postMessage({ type: "outbox", ...state });
}

self.addEventListener("sync", (event) => {
  if (event.tag === "outbox") event.waitUntil(replay());
});

/* Messages from pages: send the outbox now, report it, forget refused items once read,
   and on sign-out clear every saved page and anything not yet sent. */
self.addEventListener("message", (event) => {
  const type = event.data && event.data.type;
  if (type === "replay") event.waitUntil(replay());
  if (type === "outbox-status") event.waitUntil(tellPages());
  if (type === "dismiss-refused") event.waitUntil(withStore("refused", "readwrite", (store) => store.clear()).then(tellPages));
  if (type === "clear-saved-pages") event.waitUntil(caches.delete(PAGES_CACHE));
  if (type === "signed-out") {
    event.waitUntil(Promise.all([
      caches.delete(PAGES_CACHE),
      withStore("outbox", "readwrite", (store) => store.clear()),
      withStore("refused", "readwrite", (store) => store.clear()),
    ]));
  }
});

/* Push: show the notification. The payload never holds diary, mood or symptom content. */
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  const title = data.title || "Care plan tracker";
  const options = {
    body: data.body || "You have a reminder from your care plan tracker",
    tag: data.tag || "care-plan-tracker",
    icon: "/assets/images/nhsuk-icon-192.png",
    badge: "/assets/images/nhsuk-icon-192.png",
    data: { url: data.url || "/notifications/inbox" },
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

/* The push service has replaced or expired this browser's subscription (Firefox does so
   now and then). Subscribe again with the same application server key and send the new
   subscription to the server, as the settings page does, with the CSRF token of a page
   fetched with this browser's session. The old endpoint answers 404 or 410 at the next
   send, and the server forgets it then. Signed out: nothing is sent, and the person
   turns notifications on again after signing in. */
async function renewSubscription(oldSubscription, newSubscription) {
  const key = oldSubscription && oldSubscription.options && oldSubscription.options.applicationServerKey;
  const subscription = newSubscription || (key && await self.registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: key,
  }));
  if (!subscription) return false;
  const page = await fetch("/notifications", { credentials: "same-origin", redirect: "manual" });
  if (!page.ok) return false;
  const found = /hx-headers='(\{[^']*\})'/.exec(await page.text());
  const token = found && JSON.parse(found[1])["X-CSRFToken"];
  if (!token) return false;
  const response = await fetch("/notifications/devices", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": token },
    body: JSON.stringify({ ...subscription.toJSON(), label: "This device (renewed)" }),
  });
  return response.ok;
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(renewSubscription(event.oldSubscription, event.newSubscription).catch(() => false));
});

/* A tap on the notification: focus an open tab of the app at that page, or open one.
   Only a window this worker controls can be navigated (navigate() rejects for others),
   so: a tab already at that page is focused; else a controlled tab of the app is
   focused and taken there; else a new tab is opened. */
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/notifications/inbox", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const there = windows.find((client) => client.url === target.href);
    if (there) return there.focus();
    const [controlled] = await self.clients.matchAll({ type: "window" }); // this worker's only
    if (controlled) {
      try {
        await controlled.focus();
        return await controlled.navigate(target.href);
      } catch (error) {
        /* it could not be taken there: open a new tab instead */
      }
    }
    return self.clients.openWindow(target.href);
  })());
});
