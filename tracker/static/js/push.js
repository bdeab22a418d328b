// "Turn on notifications on this device": subscribe with the app's VAPID key and send the
// subscription to the server. pushManager.subscribe() can hang when the browser's push
// service is out of reach, so it is never awaited without a time limit.
const box = document.getElementById("push-device");
const button = document.getElementById("push-on");
const status = document.getElementById("push-status");
const unsupported = document.getElementById("push-unsupported");

function keyBytes(base64url) {
  const padded = (base64url + "===".slice((base64url.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

function sameKey(buffer, bytes) {
  if (!buffer) return false;
  const have = new Uint8Array(buffer);
  return have.length === bytes.length && have.every((b, i) => b === bytes[i]);
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
}

async function turnOn() {
  button.disabled = true;
  status.textContent = "Turning on notifications…";
  try {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      status.textContent = "Notifications are blocked for this site. You can allow them in your browser's settings.";
      return;
    }
    const registration = await withTimeout(navigator.serviceWorker.ready, 10000);
    const key = keyBytes(box.dataset.publicKey);
    // A subscription made with an older key (the server's key was rotated) cannot be
    // reused, and subscribe() refuses a new key while it exists: replace it.
    let subscription = await registration.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      subscription = await withTimeout(registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      }), 15000);
    }
    const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    const response = await fetch(box.dataset.addUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ ...subscription.toJSON(), label: navigator.userAgentData?.platform || "This device" }),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      status.textContent = problem.error || "Sorry, notifications could not be turned on.";
      return;
    }
    window.location.reload();
  } catch (error) {
    status.textContent = "Sorry, notifications could not be turned on. Check your connection and try again.";
  } finally {
    button.disabled = false;
  }
}

if (box && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window) {
  unsupported.hidden = true;
  button.hidden = false;
  button.addEventListener("click", turnOn);
}
