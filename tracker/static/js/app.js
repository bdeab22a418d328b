// Started as a module from every page. No inline script: the CSP forbids it.
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");

// NHS.UK frontend sets aria-expanded on radios and checkboxes that reveal more
// questions. ARIA does not allow it on those roles (axe: aria-allowed-attr, critical),
// and screen readers already announce the revealed questions that follow the input.
// GOV.UK Frontend dropped it for the same reason; drop it here whenever it is set.
const noExpanded = (input) => {
  if (input.matches("input[type=radio], input[type=checkbox]")) input.removeAttribute("aria-expanded");
};
new MutationObserver((changes) => {
  for (const change of changes) if (change.target.hasAttribute("aria-expanded")) noExpanded(change.target);
}).observe(document.body, { subtree: true, attributeFilter: ["aria-expanded"] });

initAll();

// htmx swaps parts of a page in place. What changed is said through one live region
// that has been on the page from the start (#app-announcer): text inserted together
// with a new live region is often not read out. Keyboard focus that was in the part
// swapped out goes to the new part, not back to the top of the page; and NHS.UK
// components in it (an error summary, radios) are started.
const ANNOUNCE = ["[role=alert]", ".app-saved-offline", "[role=status]", ".app-saved"];
let focusWasInside = false;

function announce(root) {
  const announcer = document.getElementById("app-announcer");
  if (!announcer) return;
  let text = "";
  for (const selector of ANNOUNCE) {
    const found = root.matches(selector) ? root : root.querySelector(selector);
    text = found ? found.textContent.replace(/\s+/g, " ").trim() : "";
    if (text) break;
  }
  if (!text) return;
  announcer.textContent = "";
  // A change from empty to the message, so the same message twice is read twice.
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function focusNew(root) {
  if (document.activeElement && document.activeElement !== document.body) return;
  const target = root.querySelector(".nhsuk-error-summary, h2, h3") || root;
  if (target.matches(".nhsuk-error-summary")) return; // it focuses itself when started
  if (!target.hasAttribute("tabindex")) {
    target.setAttribute("tabindex", "-1");
    target.addEventListener("blur", () => target.removeAttribute("tabindex"), { once: true });
  }
  target.focus();
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  focusWasInside = Boolean(target && target.contains(document.activeElement) && document.activeElement !== document.body);
});
document.addEventListener("htmx:load", (event) => {
  const root = event.target;
  if (!(root instanceof HTMLElement) || root === document.body) return;
  initAll({ scope: root });
  if (focusWasInside) focusNew(root);
  focusWasInside = false;
  announce(root);
});

const signedOut = document.body.dataset.signedOut === "true";
const justSignedOut = new URLSearchParams(window.location.search).has("signed-out");

// Forms that work offline carry an id made here, so a replay never makes a duplicate.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.matches("[data-offline]")) return;
  let input = form.querySelector("input[name=client_key]");
  if (!input) {
    input = document.createElement("input");
    input.type = "hidden";
    input.name = "client_key";
    form.append(input);
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  input.value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}, true);

function showOutbox({ waiting, refused }) {
  const box = document.getElementById("outbox-status");
  if (!box) return;
  box.replaceChildren();
  if (waiting) {
    const p = document.createElement("p");
    p.className = "nhsuk-inset-text";
    p.textContent = `${waiting} ${waiting === 1 ? "entry" : "entries"} saved on this phone — will send when you're back online.`;
    // Signing out clears what is saved on the phone (it may be shared), so say so first.
    if (window.location.pathname === "/sign-out") {
      p.textContent += ` If you sign out now, ${waiting === 1 ? "it" : "they"} will be deleted from this phone without being sent.`;
    }
    box.append(p);
  }
  if (refused && refused.length) {
    const div = document.createElement("div");
    div.className = "nhsuk-warning-callout";
    const h = document.createElement("h2");
    h.className = "nhsuk-warning-callout__label";
    h.textContent = "Some entries could not be sent";
    const p = document.createElement("p");
    const one = refused.length === 1;
    p.textContent = `${refused.length} ${one ? "entry" : "entries"} saved on this phone ${one ? "was" : "were"} not accepted, for example because access to the record has changed. ${one ? "It has" : "They have"} not been saved in the record.`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "nhsuk-button nhsuk-button--secondary";
    button.textContent = "I understand";
    button.addEventListener("click", () => navigator.serviceWorker.controller?.postMessage({ type: "dismiss-refused" }));
    div.append(h, p, button);
    box.append(div);
  }
}

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data && event.data.type === "outbox") showOutbox(event.data);
  });
  navigator.serviceWorker.register("/service-worker.js", { scope: "/" }).catch(() => {});
  navigator.serviceWorker.ready.then((reg) => {
    const worker = reg.active;
    if (!worker) return;
    if (justSignedOut) worker.postMessage({ type: "signed-out" });
    else if (signedOut) worker.postMessage({ type: "clear-saved-pages" });
    else {
      worker.postMessage({ type: "replay" });
      worker.postMessage({ type: "outbox-status" });
    }
  });
  window.addEventListener("online", () => navigator.serviceWorker.controller?.postMessage({ type: "replay" }));
}

// A page that may be the copy saved on this phone says so when the server cannot be reached.
const notice = document.querySelector("[data-saved-notice]");
if (notice && !signedOut) {
  fetch("/healthz", { cache: "no-store" }).then((r) => { notice.hidden = r.ok; }).catch(() => { notice.hidden = false; });
}
