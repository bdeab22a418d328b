"""Run axe-core, from its npm package, inside a page and return what it finds.

axe-core is never shipped with the app: the README's test command installs it with
``npm install --no-save --prefix tests/browser/.npm axe-core@4.14.1`` and this helper
evaluates ``axe.min.js`` in the page under test. It is not added as a ``<script>``
element: the app's CSP forbids inline script, and the test would then see a CSP
violation of its own making. Code evaluated through the DevTools protocol (what
``page.evaluate`` uses) is not subject to the page's CSP.

Without the file, the tests that need it fail when ``CI`` is set (they must run
there) and are skipped, with the command to install it, elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .liveserver import REPO_ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Page

NPM_PREFIX = REPO_ROOT / "tests" / "browser" / ".npm"
AXE_PATH = NPM_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
INSTALL = (
    "npm install --silent --no-audit --no-fund --no-save "
    "--prefix tests/browser/.npm axe-core@4.14.1"
)
# What "zero serious or critical violations" is measured against: every WCAG 2.0,
# 2.1 and 2.2 A/AA rule, plus axe's best practices (landmarks, heading order …).
DEFAULT_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice")
BLOCKING = frozenset({"serious", "critical"})


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


@lru_cache(maxsize=1)
def axe_source(path: Path = AXE_PATH) -> str:
    """axe.min.js, or fail loudly in CI (skip elsewhere) when it is not installed."""
    if not path.is_file():
        message = f"axe-core is not installed at {path} (run: {INSTALL})"
        if in_ci():
            pytest.fail(f"{message}. CI is set, and the accessibility tests must run in CI.")
        pytest.skip(message)
    return path.read_text(encoding="utf-8")


def require_axe() -> None:
    """Fail (CI) or skip (elsewhere) now, before any browser work, if axe is missing."""
    axe_source()


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on one page, with the elements that break it."""

    url: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        where = ", ".join(self.targets[:4]) + (" …" if len(self.targets) > 4 else "")
        return f"{self.url}: [{self.impact}] {self.rule} — {self.help} — {where}"


def run_axe(
    page: Page, *, tags: tuple[str, ...] = DEFAULT_TAGS, context: Any = None
) -> list[Violation]:
    """Inject axe-core (once per document) and return every violation on ``page``."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated as a script in the page's global scope; it defines window.axe.
        page.evaluate(axe_source() + "\n;undefined")
    result = page.evaluate(
        """async ([tags, context]) => {
            const r = await axe.run(context || document, {
                runOnly: {type: 'tag', values: tags},
                resultTypes: ['violations'],
            });
            return r.violations.map(v => ({
                rule: v.id, impact: v.impact || 'minor', help: v.help,
                targets: v.nodes.map(n => n.target.join(' ')),
            }));
        }""",
        [list(tags), context],
    )
    url = page.url
    return [Violation(url, v["rule"], v["impact"], v["help"], tuple(v["targets"])) for v in result]


def blocking(violations: list[Violation]) -> list[Violation]:
    """The serious and critical ones: these fail a test."""
    return [v for v in violations if v.impact in BLOCKING]
