"""One self-contained HTML page of tagged text: the article with every sentence highlighted by
label, a legend and a per-label summary. Inline CSS only, no scripts, nothing fetched, so the
file can be mailed, archived or opened offline. ``claimtag tag --html`` and
``POST /v1/tag?format=html`` both render with :func:`render_report`.

Colours come from the Okabe-Ito palette (distinguishable with the common colour-vision
deficiencies), and every label also has its own underline style and a text badge, so nothing
depends on colour alone.

>>> html = render_report([ReportDocument(text, rows)], tagger.labels, model=tagger.model_id)  # doctest: +SKIP
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .labels import LabelSet

#: (colour, underline style) per label, by the label's position in the label set. The web page
#: (serve/static/app.js) uses the same list, so a label looks the same there and here.
PALETTE: tuple[tuple[str, str], ...] = (
    ("#0072B2", "solid"),   # blue
    ("#D55E00", "wavy"),    # vermillion
    ("#E69F00", "dashed"),  # orange
    ("#009E73", "double"),  # bluish green
    ("#999999", "dotted"),  # grey
    ("#CC79A7", "solid"),   # reddish purple
    ("#56B4E9", "dashed"),  # sky blue
    ("#000000", "dotted"),  # black
)


@dataclass(frozen=True)
class ReportDocument:
    """A text and its sentence rows (``start``, ``end``, ``label``, ``score``, ``scores``, as
    in the output schema); ``doc_id`` names it when there are several."""

    text: str
    sentences: Sequence[Mapping[str, Any]]
    doc_id: str | int | None = None


def render_report(
    documents: Sequence[ReportDocument],
    labels: LabelSet,
    *,
    model: str,
    title: str = "claimtag",
) -> str:
    """The whole HTML page for ``documents`` tagged by ``model`` with ``labels``."""
    names = _label_order(labels, (row["label"] for doc in documents for row in doc.sentences))
    index = {name: i for i, name in enumerate(names)}
    counts = Counter(row["label"] for doc in documents for row in doc.sentences)
    total = sum(counts.values())
    parts = [_HEAD.format(title=_e(title), css=_css(names)),
             f"<header><h1>{_e(title)}</h1><p>{total} sentences in {len(documents)} "
             f"document{'s' if len(documents) != 1 else ''}, tagged by <code>{_e(model)}</code>"
             "</p></header>\n<main>\n",
             _legend(names, labels),
             _summary(names, labels, documents, counts, total)]
    for number, doc in enumerate(documents):
        parts.append(_document(doc, number, len(documents), index, labels))
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def _label_order(labels: LabelSet, seen: Iterable[str]) -> list[str]:
    """The label set's names, then any other label that occurs (``uncertain``)."""
    names = list(labels.names)
    for label in seen:
        if label not in names:
            names.append(label)
    return names


def _css(names: Sequence[str]) -> str:
    rules = []
    for i in range(len(names)):
        colour, line = PALETTE[i % len(PALETTE)]
        rules.append(f".l{i}{{background:{colour}26;text-decoration:underline {line} {colour};"
                     f"text-decoration-thickness:{3 if line == 'double' else 2}px}}"
                     f".l{i} .b,.k{i}{{border-color:{colour}}}.k{i}{{background:{colour}26}}")
    return _BASE_CSS + "\n".join(rules)


def _legend(names: Sequence[str], labels: LabelSet) -> str:
    items = "".join(
        f'<li><span class="sw k{i}" aria-hidden="true"></span>'
        f'<span class="l{i} ex">{_e(labels.display_name(n))}</span> '
        f'<span class="b">{_e(n)}</span></li>' for i, n in enumerate(names))
    return (f'<section aria-labelledby="legend-h"><h2 id="legend-h">Legend</h2>'
            f'<ul class="legend">{items}</ul></section>\n')


def _summary(names: Sequence[str], labels: LabelSet, documents: Sequence[ReportDocument],
             counts: Counter[str], total: int) -> str:
    mean: dict[str, float] = {}
    for name in names:
        scores = [row["score"] for doc in documents for row in doc.sentences
                  if row["label"] == name]
        mean[name] = sum(scores) / len(scores) if scores else 0.0
    rows = "".join(
        f'<tr><th scope="row"><span class="sw k{i}" aria-hidden="true"></span>'
        f'{_e(labels.display_name(n))}</th><td>{counts[n]}</td>'
        f'<td>{100 * counts[n] / total if total else 0:.0f}%</td>'
        f'<td>{mean[n]:.2f}</td></tr>' for i, n in enumerate(names))
    return ('<section aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>'
            '<table><thead><tr><th scope="col">label</th><th scope="col">sentences</th>'
            '<th scope="col">share</th><th scope="col">mean score</th></tr></thead>'
            f'<tbody>{rows}</tbody><tfoot><tr><th scope="row">all</th><td>{total}</td>'
            '<td></td><td></td></tr></tfoot></table></section>\n')


def _document(doc: ReportDocument, number: int, of: int, index: Mapping[str, int],
              labels: LabelSet) -> str:
    name = f"Document {_e(str(doc.doc_id))}" if doc.doc_id is not None else \
        ("Article" if of == 1 else f"Document {number + 1}")
    rows = sorted(doc.sentences, key=lambda r: r["start"])
    out, at = [], 0
    for row in rows:
        start, end = row["start"], row["end"]
        out.append(_e(doc.text[at:start]))
        i = index[row["label"]]
        display = labels.display_name(row["label"])
        out.append(f'<mark class="s l{i}" title="{_e(_probabilities(row, labels))}">'
                   f'{_e(doc.text[start:end])}<span class="b">{_e(display)}</span></mark>')
        at = max(at, end)
    out.append(_e(doc.text[at:]))
    spans = any(r.get("source") or r.get("cue") or r.get("when") for r in rows)
    table = "".join(
        f'<tr><td>{n}</td><td>{_e(doc.text[r["start"]:r["end"]])}</td>'
        f'<td><span class="b k{index[r["label"]]}">{_e(labels.display_name(r["label"]))}'
        f'</span></td><td>{r["score"]:.2f}</td>'
        + (_span_cells(r) if spans else "")
        + f'<td>{_e(_probabilities(r, labels))}</td></tr>'
        for n, r in enumerate(rows))
    span_heads = ('<th scope="col">source</th><th scope="col">cue</th>'
                  '<th scope="col">when (due)</th>') if spans else ""
    return (f'<section class="doc" aria-label="{name}"><h2>{name}</h2>'
            f'<div class="article">{"".join(out)}</div>'
            f'<details><summary>All {len(rows)} sentences with their probabilities</summary>'
            '<table><thead><tr><th scope="col">#</th><th scope="col">sentence</th>'
            f'<th scope="col">label</th><th scope="col">score</th>{span_heads}'
            f'<th scope="col">probabilities</th></tr></thead><tbody>{table}</tbody></table>'
            '</details></section>\n')


def _span_cells(row: Mapping[str, Any]) -> str:
    """Source (with the named source behind a pronoun), cue, and when with its due interval."""
    def text(name: str) -> str:
        span = row.get(name)
        return _e(span["text"]) if span else ""

    source = text("source") + (f' ({_e(row["named_source"])})' if row.get("named_source") else "")
    due = row.get("due")
    when = text("when") + (f' (due {_e(due["start"])} to {_e(due["end"])})' if due else "")
    return f"<td>{source}</td><td>{text('cue')}</td><td>{when}</td>"


def _probabilities(row: Mapping[str, Any], labels: LabelSet) -> str:
    """``label 0.91 · ...`` for one sentence, most probable first."""
    scores = sorted((row.get("scores") or {}).items(), key=lambda kv: -kv[1])
    listed = " · ".join(f"{labels.display_name(k)} {v:.2f}" for k, v in scores)
    return f"{labels.display_name(row['label'])} ({row['score']:.2f}); {listed}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
"""

_BASE_CSS = """body{font:16px/1.6 system-ui,sans-serif;color:#111;background:#fff;margin:0 auto;
max-width:52rem;padding:1rem 1.25rem}h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.15rem}
code{font-size:.9em}table{border-collapse:collapse;margin:.5rem 0}
th,td{text-align:left;padding:.2rem .6rem;border-bottom:1px solid #ddd;vertical-align:top}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem 1.25rem}
.sw{display:inline-block;width:.9em;height:.9em;border:2px solid;margin-right:.35em;
vertical-align:-.1em}.article{white-space:pre-wrap;line-height:2}
.s{color:inherit;padding:.1em 0;text-underline-offset:.25em;-webkit-box-decoration-break:clone;
box-decoration-break:clone}
.b{display:inline-block;font-size:.7em;line-height:1.3;padding:0 .3em;margin-left:.3em;
border:1px solid #666;border-radius:.3em;background:#fff;color:#111;text-decoration:none;
font-variant:small-caps;vertical-align:.15em;white-space:nowrap}
.ex{padding:0 .2em}details{margin:.75rem 0 1.5rem}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}details{display:none}}
"""
