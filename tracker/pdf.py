"""PDF of a printable page, with WeasyPrint: the same document and print rules as the browser.

The print stylesheet is handed to WeasyPrint from disk, and the printable
templates refer to nothing else (charts are inline SVG), so making a PDF never
fetches anything.
"""

from __future__ import annotations

from pathlib import Path

from weasyprint import CSS, HTML

PRINT_CSS = Path(__file__).parent / "static" / "css" / "print-document.css"


def html_to_pdf(html: str) -> bytes:
    """The PDF bytes for a printable HTML document."""
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(PRINT_CSS))])
