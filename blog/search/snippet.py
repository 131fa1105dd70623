"""Snippets: the part of a text around the words a search matched, with those words marked.

Made here rather than by the engines. FTS5's snippet() and highlight() insert their markers
into the text without escaping it (a post about ``<script>`` would come back as markup) and
need the MATCH again for every row shown; PostgreSQL's ts_headline parses each document anew.
Here the text is cut into words once, every piece is escaped, and only ``<mark>`` is added:
the same result on both engines, for the cost of one pass over at most SCAN_CHARS characters.
No Flask and no database in here.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from markupsafe import Markup, escape

from blog.search.query import TOKEN, Query, fold

# Matches are looked for in the first characters of a text only: a 500 KB post must not cost
# 50 times a normal one. Past it, the snippet shows the start of the text.
SCAN_CHARS = 20_000
# Words in a snippet.
WINDOW = 40
ELLIPSIS = "…"


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    folded: str


def _words(text: str) -> list[_Word]:
    return [_Word(m.start(), m.end(), fold(m.group())) for m in TOKEN.finditer(text)]


def _matches(words: list[_Word], query: Query) -> list[tuple[int, int]]:
    """Return (first, last) word indexes of each match, left to right, not overlapping."""
    by_first: dict[str, set[tuple[str, ...]]] = {}
    for term in query.terms:
        by_first.setdefault(term.words[0], set()).add(term.words)
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        found = 0
        for pattern in by_first.get(words[i].folded, ()):
            n = len(pattern)
            if n > found and tuple(w.folded for w in words[i : i + n]) == pattern:
                found = n
        if found:
            spans.append((i, i + found - 1))
            i += found
        else:
            i += 1
    return spans


def _render(text: str, words: list[_Word], spans: list[tuple[int, int]], first: int, last: int):
    """Return text from word first to word last, escaped, with the spans inside marked."""
    out: list[str] = []
    position = words[first].start
    for start, end in spans:
        if start < first or end > last:
            continue
        out.append(escape(text[position : words[start].start]))
        out.append(Markup("<mark>") + escape(text[words[start].start : words[end].end]))
        out.append(Markup("</mark>"))
        position = words[end].end
    out.append(escape(text[position : words[last].end]))
    return Markup("").join(out)


def highlight(text: str, query: Query) -> Markup:
    """Return the whole (short) text escaped, with the matched words marked: for titles."""
    words = _words(text)
    if not words:
        return escape(text)
    spans = _matches(words, query)
    head = escape(text[: words[0].start])
    tail = escape(text[words[-1].end :])
    return head + _render(text, words, spans, 0, len(words) - 1) + tail


def snippet(text: str, query: Query, length: int = WINDOW) -> Markup:
    """Return about length words of text around its best cluster of matches, marked."""
    scanned = text[:SCAN_CHARS]
    words = _words(scanned)
    if len(text) > SCAN_CHARS and words and words[-1].end == len(scanned):
        words.pop()  # a word cut in two by the scan's end
    if not words:
        return Markup("")
    spans = _matches(words, query)
    start = 0
    if spans:
        # The window holding the most matches, starting a little before the first of them.
        reach = max(1, length * 3 // 4)
        starts = [s for s, _ in spans]
        best = max(
            range(len(spans)), key=lambda k: (bisect_left(starts, starts[k] + reach) - k, -k)
        )
        anchor = spans[best][0]
        if anchor >= reach:  # else the window from the start shows it
            start = max(0, min(anchor - length // 4, len(words) - length))
    end = min(len(words), start + length) - 1
    body = _render(scanned, words, spans, start, end)
    whole_end = end == len(words) - 1 and len(text) <= SCAN_CHARS
    before = escape(text[: words[0].start].lstrip()) if start == 0 else ELLIPSIS + " "
    after = escape(text[words[end].end :].rstrip()) if whole_end else " " + ELLIPSIS
    return Markup(before) + body + Markup(after)
