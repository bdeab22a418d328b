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
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(caches.match(request).then((hit) => hit || fetch(request)));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(networkThenCache(request, url));
  }
});

async function networkThenCache(request, url) {
  try {
    const response = await fetch(request);
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

/* Sign-out and another person's sign-in clear everything saved from a record. */
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "clear-saved-pages") {
    event.waitUntil(caches.delete(PAGES_CACHE));
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

/* A tap on the notification: focus an open tab of the app at that page, or open one. */
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data && event.notification.data.url || "/notifications/inbox", self.location.origin);
  if (target.origin !== self.location.origin) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (new URL(client.url).origin === target.origin && "focus" in client) {
          return client.navigate(target.href).then((c) => (c || client).focus());
        }
      }
      return self.clients.openWindow(target.href);
    })
  );
});
