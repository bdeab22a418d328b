// Started as a module from every page. No inline script: the CSP forbids it.
import { initAll } from "../vendor/nhsuk-frontend/nhsuk-frontend-10.6.1.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
