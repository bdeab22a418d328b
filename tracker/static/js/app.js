// Started as a module from every page. No inline script: the CSP forbids it.
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/service-worker.js", { scope: "/" }).then(() => {
    // Signed out (or never signed in) on this device: forget every saved page of a record.
    if (document.body.dataset.signedOut === "true" && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "clear-saved-pages" });
    }
  }).catch(() => {});
  if (document.body.dataset.signedOut === "true") {
    navigator.serviceWorker.ready.then((reg) => reg.active && reg.active.postMessage({ type: "clear-saved-pages" }));
  }
}

// A page read from the phone's saved copy says when it was saved.
const saved = document.querySelector("[data-saved-notice]");
if (saved && !navigator.onLine) saved.hidden = false;
