"""Movable Type's `dirify` and entry basenames, ported so that old addresses can be rebuilt.

Movable Type (and TypePad, which ran on its code) made an entry's file name from its title:
`MT::Util::utf8_dirify` then `make_unique_basename`. Read from Movable Type's own source
(github.com/movabletype/movabletype: lib/MT/Util.pm at the tags mt3.35, mt4.2 and today):

- `xliterate_utf8` looks at the title's UTF-8 bytes two at a time (`s/([\\200-\\377]{2})/…/`)
  and replaces each pair by its entry in a table of 190 Latin letters (below), or by nothing.
  Every other non-ASCII character disappears: Greek, Cyrillic, Chinese, curly quotes, dashes.
  Because it pairs bytes, a three-byte character (an em dash) right before an accented letter
  eats that letter's first byte, and the letter is lost too; that is reproduced here.
- then lower case, HTML tags removed, entities (`&amp;`) removed, every character that is not
  a word character, a space (or, from Movable Type 4.2 on, a hyphen) removed, and each run of
  spaces replaced by `_`. Before 4.2 (commit "Preserve dashes through dirification",
  2008-04-25) hyphens in titles were dropped: "Well-known" gave `wellknown`, later `well-known`.
- `make_unique_basename` cuts the result to the blog's `basename_limit` (15 to 250), strips
  trailing underscores, and uses `post` when nothing is left. An empty title is first replaced
  by the first five words of the entry's text (`LENGTH_ENTRY_TITLE_FROM_TEXT`).

The table has been the same from Movable Type 3.35 (2007) to today.
"""

from __future__ import annotations

import re

# xliterate_utf8's table, letter by letter (the same 190 characters and replacements as in
# lib/MT/Util.pm; "Ŀ" gives a lower-case "l" there too). Case does not matter in the end:
# dirify lower-cases right after.
_LETTERS = {
    "A": "ÀÁÂÃÄÅĀĂĄ",
    "a": "àáâãäåāăą",
    "AE": "Æ",
    "ae": "æ",
    "C": "ÇĆĈĊČ",
    "c": "çćĉċč",
    "D": "ĎĐ",
    "d": "ďđ",
    "E": "ÈÉÊËĒĔĖĘĚ",
    "e": "èéêëēĕėęě",
    "f": "ƒ",
    "G": "ĜĞĠĢ",
    "g": "ĝğġģ",
    "H": "ĤĦ",
    "h": "ĥħ",
    "I": "ÌÍÎÏĨĪĬĮİ",
    "i": "ìíîïĩīĭįı",
    "IJ": "Ĳ",
    "ij": "ĳ",
    "J": "Ĵ",
    "j": "ĵ",
    "K": "Ķ",
    "k": "ķĸ",
    "L": "ĹĻĽŁ",
    "l": "ĺļľĿŀł",
    "N": "ÑŃŅŇŊ",
    "n": "ñńņňŉŋ",
    "O": "ÒÓÔÕÖØŌŎŐ",
    "o": "òóôõöøōŏő",
    "OE": "Œ",
    "oe": "œ",
    "R": "ŔŖŘ",
    "r": "ŕŗř",
    "S": "ŚŜŞŠȘ",
    "s": "śŝşšș",
    "ss": "ß",
    "T": "ŢŤŦȚ",
    "t": "ţťŧț",
    "U": "ÙÚÛÜŨŪŬŮŰŲ",
    "u": "ùúûüũūŭůűų",
    "W": "Ŵ",
    "w": "ŵ",
    "Y": "ÝŶŸ",
    "y": "ýÿŷ",
    "Z": "ŹŻŽ",
    "z": "źżž",
}
# Keyed by the two UTF-8 bytes, as Movable Type matches them.
XLITERATE: dict[bytes, bytes] = {
    letter.encode(): ascii_.encode() for ascii_, letters in _LETTERS.items() for letter in letters
}
_BYTE_PAIR = re.compile(rb"[\x80-\xff]{2}")
# remove_html: tags go and a lone "<" becomes "&lt;", which the entity rule then removes.
# Since 4.38 CDATA sections stay; Movable Type 3 removed them like tags (4.2 to 4.3x kept a
# title that starts with one whole: no real title does, so that variant is not reproduced).
_TAG_OR_CDATA = re.compile(r"(<!\[CDATA\[.*?\]\]>)|(<[^>]+>)", re.IGNORECASE | re.DOTALL)
_LONE_LT_BUT_CDATA = re.compile(r"<(?!!\[CDATA\[)", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_ENTITY = re.compile(r"&[^;\s]+;", re.ASCII)
_NOT_WORD_SPACE_HYPHEN = re.compile(r"[^\w\s-]", re.ASCII)
_NOT_WORD_SPACE = re.compile(r"[^\w\s]", re.ASCII)
_SPACES = re.compile(r"\s+", re.ASCII)

# make_unique_basename: the limits Movable Type allows, the fallback title's length in words.
MIN_LIMIT, MAX_LIMIT = 15, 250
TITLE_WORDS_FROM_TEXT = 5


def xliterate_utf8(text: str) -> str:
    """Replace accented Latin letters by ASCII and drop every other non-ASCII character."""
    data = _BYTE_PAIR.sub(lambda m: XLITERATE.get(m.group(), b""), text.encode("utf-8"))
    # A byte left alone by the pairing is not UTF-8: Perl decodes it to U+FFFD, which the
    # non-word rule removes; "replace" does the same here.
    return data.decode("utf-8", "replace")


def remove_html(text: str, *, keep_cdata: bool = True) -> str:
    """MT::Util::remove_html: drop tags, escape a lone '<' (MT 5+ keeps CDATA sections)."""
    if not keep_cdata:
        return _TAG.sub("", text).replace("<", "&lt;")
    text = _TAG_OR_CDATA.sub(lambda m: m.group(1) or "", text)
    return _LONE_LT_BUT_CDATA.sub("&lt;", text)


def dirify(text: str, separator: str = "_", *, keep_hyphens: bool = True) -> str:
    """MT::Util::utf8_dirify: a title as Movable Type wrote it in file names.

    keep_hyphens=False is the rule before Movable Type 4.2, which dropped hyphens."""
    text = xliterate_utf8(text).lower()
    # The two rules are Movable Type 3.x-4.1 (hyphens and CDATA removed) and today's.
    text = remove_html(text, keep_cdata=keep_hyphens)
    text = _ENTITY.sub("", text)
    text = (_NOT_WORD_SPACE_HYPHEN if keep_hyphens else _NOT_WORD_SPACE).sub("", text)
    return _SPACES.sub(separator, text)


def first_n_words(html: str, count: int = TITLE_WORDS_FROM_TEXT) -> str:
    """MT::Util::first_n_words: the first words of a text without its tags.

    Like Perl's split, a leading space gives an empty first word and trailing ones none."""
    words = _SPACES.split(remove_html(html))
    while words and not words[-1]:
        words.pop()
    return " ".join(words[:count])


def entry_basename(title: str, text: str = "", *, limit: int, keep_hyphens: bool) -> str:
    """make_unique_basename without the uniqueness suffix: the basename a new entry got."""
    title = title.strip()
    if not title:
        title = first_n_words(text) or "Post"
    limit = min(max(limit, MIN_LIMIT), MAX_LIMIT)
    base = dirify(title, keep_hyphens=keep_hyphens)[:limit].rstrip("_")
    return base or "post"
