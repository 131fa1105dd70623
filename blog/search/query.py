"""What a reader types in the search box, read the way web search engines taught them to.

- words: every one must appear (``notebook keyboard``);
- ``"a phrase"``: its words together and in order;
- ``-word`` and ``-"a phrase"``: must not appear;
- ``word OR word``: either (OR binds tighter than the words around it, as on the web:
  ``cats OR dogs food`` is (cats or dogs) and food).

Anything else is words. An unclosed quote, ``*``, ``NEAR``, ``AND``, ``title:x``, SQL, FTS5
or tsquery syntax: each term reaches the engine as a quoted string that its own tokenizer
splits, so no input is ever an operator there, and none is an error. A term with no letter or
digit (``*``, ``--``) is dropped. No Flask and no database in here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# More terms than anyone types; each one costs the engines a lookup.
MAX_TERMS = 12

# A "phrase" (maybe left open at the end), or a run of anything but spaces and quotes.
_LEXEME = re.compile(r'(?P<minus>-?)"(?P<phrase>[^"]*)(?P<closed>"?)|(?P<word>[^\s"]+)')
# Letters and digits of any script: what both engines' tokenizers keep.
TOKEN = re.compile(r"[^\W_]+")
OR = "OR"


def fold(text: str) -> str:
    """Return text without accents, in lower case: how the engines compare words."""
    if text.isascii():  # most words: nothing to decompose (measured 10x faster)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def tokens(text: str) -> tuple[str, ...]:
    """Return the folded words of text."""
    return tuple(fold(m.group()) for m in TOKEN.finditer(text))


@dataclass(frozen=True)
class Term:
    """A word or a phrase as typed (without its quotes or minus), and its folded words."""

    text: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class Query:
    """All groups must match (AND), any term of a group will do (OR); no excluded term may."""

    groups: tuple[tuple[Term, ...], ...] = ()
    excluded: tuple[Term, ...] = ()
    # Terms left out past MAX_TERMS.
    dropped: int = 0

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms that must (or may) appear: what snippets mark."""
        return tuple(term for group in self.groups for term in group)

    @property
    def only_excludes(self) -> bool:
        return not self.groups and bool(self.excluded)


def _lexemes(text: str):
    """Yield (minus, text, is_phrase) for each lexeme, or the OR marker."""
    for match in _LEXEME.finditer(text):
        if match.group("word") is not None:
            word = match.group("word")
            if word == OR:
                yield OR
            elif word.startswith("-") and len(word) > 1:
                yield True, word[1:], False
            else:
                yield False, word, False
        elif match.group("closed"):
            yield bool(match.group("minus")), match.group("phrase"), True
        else:
            # A quote left open: its words are words.
            for word in match.group("phrase").split():
                yield False, word, False


def parse(text: str) -> Query:
    """Read a search box's text into a Query (empty when it holds no word at all)."""
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    joined = False  # an OR stands between the last positive term and the next
    last_positive = False
    kept = dropped = 0
    for lexeme in _lexemes(text):
        if lexeme == OR:
            joined = last_positive
            continue
        minus, raw, _phrase = lexeme
        words = tokens(raw)
        if not words:
            continue
        if kept == MAX_TERMS:
            dropped += 1
            continue
        kept += 1
        term = Term(" ".join(raw.split()), words)
        if minus:
            excluded.append(term)
        elif joined:
            groups[-1].append(term)
        else:
            groups.append([term])
        last_positive, joined = not minus, False
    return Query(tuple(tuple(g) for g in groups), tuple(excluded), dropped)
