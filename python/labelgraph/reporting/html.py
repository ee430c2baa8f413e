"""A self-contained index.html: sections of text, tables of the numbers, and the PNGs beside them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
.section { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
.section img { max-width: 640px; width: 100%; border: 1px solid #ddd; }
.section img.wide { max-width: 860px; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
p.note { color: #555; font-size: 0.9em; max-width: 60em; }
"""


WIDE_IMAGES = ("suspicious.png",)  # image grids need the room to be readable


@dataclass
class Section:
    """A heading, paragraphs, tables (header + rows) and images (file names relative to the report)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[Sequence[str], Sequence[Sequence[Any]]]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


_NUMBER = re.compile(r"^-?[0-9][0-9.,]*(x| s)?$")


def _cell(value: Any) -> str:
    text = str(value)
    # Numbers right-aligned (digits line up), words left-aligned.
    return f"<td class='num'>{html.escape(text)}</td>" if _NUMBER.match(text) else f"<td>{html.escape(text)}</td>"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The page as a string (UTF-8, no external resources)."""
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
             f"<p class='note'>{html.escape(subtitle)}</p>"]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts.extend(f"<p class='note'>{html.escape(p)}</p>" for p in section.paragraphs)
        parts.append("<div class='section'><div>")
        parts.extend(_table(header, rows) for header, rows in section.tables)
        parts.append("</div>")
        for name in section.images:
            wide = " class='wide'" if name in WIDE_IMAGES else ""
            parts.append(f"<img src='{html.escape(name)}' alt='{html.escape(name)}'{wide}>")
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write(folder: Path, title: str, subtitle: str, sections: Sequence[Section]) -> Path:
    """Write ``folder/index.html``; returns its path."""
    path = Path(folder) / "index.html"
    path.write_text(render(title, subtitle, sections), encoding="utf-8")
    return path
