"""The browser view of the report files: a Markdown report rendered as one HTML page, and the
index pages of the report server (stdlib + markdown-it-py; no Dagster, no SQL).

Hostile text stays inert: the Markdown renderer runs with raw HTML disabled (a portfolio
named ``<script>…`` is shown as text, its ``<`` escaped), markdown-it's link validation
drops ``javascript:``/``data:`` links, and every value put into the page chrome (titles,
navigation) goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from markdown_it import MarkdownIt

#: CommonMark + GitHub tables; ``html=False`` escapes any raw HTML in the source
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")

STYLE = """
body { font: 15px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: #1f2328; max-width: 1100px; margin: 0 auto; padding: 0 24px 48px; }
nav { font-size: 13px; padding: 10px 0; border-bottom: 1px solid #d0d7de;
      margin-bottom: 16px; }
nav a { margin-right: 12px; }
h1 { font-size: 26px; border-bottom: 1px solid #d0d7de; padding-bottom: 6px; }
h2 { font-size: 20px; margin-top: 28px; border-bottom: 1px solid #eaeef2; }
table { border-collapse: collapse; margin: 12px 0; font-size: 13px;
        font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; }
th { background: #f6f8fa; text-align: left; }
tr:nth-child(even) td { background: #fafbfc; }
td:not(:first-child) { text-align: right; }
img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
code { background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
.failed { color: #cf222e; }
.muted { color: #656d76; }
@media print {
  nav, .no-print { display: none; }
  body { max-width: none; padding: 0; font-size: 11px; }
  table { page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""


def escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, body: str, nav: Iterable[tuple[str, str]] = ()) -> str:
    """A complete HTML page; ``nav`` is (href, label) pairs, escaped here."""
    links = "".join(f'<a href="{escape(href)}">{escape(label)}</a>' for href, label in nav)
    nav_html = f"<nav>{links}</nav>\n" if links else ""
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{nav_html}"
            f"{body}\n</body></html>\n")


def render_markdown(markdown: str) -> str:
    """The HTML of a Markdown report (raw HTML in it escaped, never passed through)."""
    return _MARKDOWN.render(markdown)


def report_page(markdown: str, title: str, nav: Iterable[tuple[str, str]] = ()) -> str:
    """One report as a printable page: the rendered Markdown (tables styled, the chart
    ``<slug>.png`` inline through its relative link) under a navigation bar."""
    return page(title, render_markdown(markdown), nav)


def link_list(links: Iterable[tuple[str, str]], empty: str = "none") -> str:
    items = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links)
    return f"<ul>{items}</ul>" if items else f'<p class="muted">{escape(empty)}</p>'


def table(header: list[str], rows: Iterable[list[str]], raw_columns: frozenset[int] = frozenset()
          ) -> str:
    """An HTML table; cells are escaped except the columns in ``raw_columns`` (links built
    by the caller from escaped parts)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c if i in raw_columns else escape(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def anchor(href: str, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'
