"""Extraction recipes: one function per source format, from a file's bytes to document texts.

Each returns ``{record_id: text}``. The text is what the pointer offsets index into, so these
functions are part of the pinned recipe: changing one changes every offset of its source
(the sha256 in each pointer row catches that).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

_TAG = re.compile(r"<[^>]+>")
_PARAGRAPH = re.compile(r"<p[^>]*>(.*?)</p>", re.S | re.I)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def _clean(fragment: str) -> str:
    """HTML fragment to one line of plain text."""
    text = html.unescape(_TAG.sub("", fragment.replace("<br />", " ").replace("<br>", " ")))
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


def _paragraphs(markup: str) -> list[str]:
    return [p for p in (_clean(m) for m in _PARAGRAPH.findall(markup)) if p]


def geovirus(blob: bytes) -> dict[str, str]:
    """GeoVirus.xml: Wikinews excerpts; the excerpts of one article URL joined as paragraphs."""
    docs: dict[str, list[str]] = {}
    for article in ET.fromstring(blob).iter("article"):
        url = (article.findtext("source") or "").strip()
        text = (article.findtext("text") or "").strip()
        if url and text:
            docs.setdefault(url, []).append(text)
    return {url: "\n\n".join(parts) for url, parts in docs.items()}


def whitehouse_html(blob: bytes) -> dict[str, str]:
    """A whitehouse.gov page of 2017: the paragraphs of the body, up to reporters' questions.

    Questions from the press (``Q`` paragraphs) and everything after them are dropped: the
    press's words are not federal works.
    """
    page = blob.decode("utf-8", "replace")
    start = page.find("field-type-text-long")
    body = page[start:] if start >= 0 else ""
    kept: list[str] = []
    for paragraph in _paragraphs(body):
        if re.match(r"^(Q|QUESTION)[:.\s]", paragraph) or paragraph.startswith("Q "):
            break
        if paragraph.startswith("###") or paragraph.upper().startswith("END"):
            break
        kept.append(paragraph)
    return {"": "\n\n".join(kept)} if kept else {}


def rss_items(blob: bytes) -> dict[str, str]:
    """An RSS feed: each item's title and full content (``content:encoded``), by guid."""
    ns = {"content": "http://purl.org/rss/1.0/modules/content/"}
    docs = {}
    for item in ET.fromstring(blob).iter("item"):
        guid = (item.findtext("guid") or item.findtext("link") or "").strip()
        content = item.findtext("content:encoded", namespaces=ns) or ""
        paragraphs = _paragraphs(content)
        title = _clean(item.findtext("title") or "")
        if guid and paragraphs:
            docs[guid] = "\n\n".join([title, *paragraphs] if title else paragraphs)
    return docs


def crs_markdown(blob: bytes) -> dict[str, str]:
    """A CRS product as markdown: its title and prose paragraphs, without navigation,
    metadata tables, lists of links, headings or the closing disclaimer."""
    lines = blob.decode("utf-8", "replace").splitlines()
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), "")
    kept = [title] if title else []
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#|-*![>" or line.startswith(("**", "---")):
            continue
        if "congress.gov" in line or len(line) < 60:
            continue
        if line.lower().startswith(("this document was prepared by", "disclaimer")):
            break
        kept.append(_SPACES.sub(" ", _MD_LINK.sub(r"\1", line)))
    return {"": "\n\n".join(kept)} if len(kept) > 1 else {}


def speech_txt(blob: bytes) -> dict[str, str]:
    """kfogel/presidential-speeches: line 1 names the president; the rest is the speech."""
    lines = blob.decode("utf-8", "replace").splitlines()
    body = [_SPACES.sub(" ", line).strip() for line in lines[1:]]
    return {"": "\n\n".join(line for line in body if line)}


def wrapped_txt(blob: bytes) -> dict[str, str]:
    """Plain text hard-wrapped at a fixed width: blank lines separate paragraphs."""
    text = blob.decode("utf-8-sig", "replace").replace("\r\n", "\n")
    paragraphs = [_SPACES.sub(" ", p.replace("\n", " ")).strip() for p in re.split(r"\n\s*\n", text)]
    return {"": "\n\n".join(p for p in paragraphs if p)}


_DATELINE = re.compile(r"^\s*\w+day, \w+ \d{1,2}, \d{4}\s*")


def wikinews_csv(blob: bytes) -> dict[str, str]:
    """vanatteveldt/wikinews: CSV of ``url,date,title,text``; the title as headline, then the
    paragraphs, without the leading "Friday, January 4, 2019" dateline."""
    import csv
    import io

    docs = {}
    for row in csv.DictReader(io.StringIO(blob.decode("utf-8"))):
        body = _DATELINE.sub("", row["text"].replace("\u00a0", " ")).strip()
        paragraphs = [_SPACES.sub(" ", p).strip() for p in re.split(r"\n\s*\n", body)]
        url = row["url"].replace("org//wiki", "org/wiki")
        docs[url] = "\n\n".join([row["title"].strip(), *(p for p in paragraphs if p)])
    return docs


def gum_conllu(blob: bytes) -> dict[str, str]:
    """A GUM CoNLL-U file: one document, rebuilt as training.sources.boundaries does."""
    from .boundaries import document

    return {"document": document(blob.decode("utf-8"))[0]}


EXTRACTORS: dict[str, Callable[[bytes], dict[str, str]]] = {
    "geovirus": geovirus,
    "wikinews_csv": wikinews_csv,
    "whitehouse_html": whitehouse_html,
    "rss_items": rss_items,
    "crs_markdown": crs_markdown,
    "speech_txt": speech_txt,
    "wrapped_txt": wrapped_txt,
    "gum_conllu": gum_conllu,
}
