"""The hostile corpus and an independent check of sanitized HTML, for the sanitizer tests.

The checker parses HTML the way a browser does (tests.helpers.html.parse, inside a <div>) and
reports every element, attribute or URL outside a policy. It deliberately does not import
blog.sanitize: a mistake there must not be copied into the test that is meant to catch it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.html import parse

CORPUS = Path(__file__).resolve().parents[1] / "data" / "hostile_comments.txt"
_NAMED = {"NL": "\n", "CR": "\r", "TAB": "\t", "FF": "\f", "NUL": "\0"}
_ESCAPE = re.compile(r"\{(NL|CR|TAB|FF|NUL|U\+[0-9A-Fa-f]{4,6})\}")


def _decode(line: str) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1)
        return _NAMED[name] if name in _NAMED else chr(int(name[2:], 16))

    return _ESCAPE.sub(one, line)


def load_corpus() -> list[str]:
    """Return the hostile payloads of tests/data/hostile_comments.txt, decoded."""
    payloads = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            payloads.append(_decode(line))
    return payloads


@dataclass(frozen=True)
class Policy:
    tags: frozenset[str]
    attributes: dict[str, frozenset[str]]
    schemes: frozenset[str] = frozenset({"http", "https", "mailto"})
    relative_ok: bool = False
    image_schemes: frozenset[str] = frozenset({"http", "https"})
    link_rel: str | None = "nofollow ugc noopener"
    url_attributes: frozenset[str] = field(default=frozenset({"href", "src", "cite"}))


COMMENT_POLICY = Policy(
    tags=frozenset("a abbr acronym b blockquote cite code del em i q s strike strong p br".split()),
    attributes={
        "a": frozenset({"href", "title", "rel"}),
        "abbr": frozenset({"title"}),
        "acronym": frozenset({"title"}),
        "blockquote": frozenset({"cite"}),
        "del": frozenset({"datetime"}),
        "q": frozenset({"cite"}),
    },
)


# What a post body may contain (blog.sanitize's post allowlist, written out independently).
POST_POLICY = Policy(
    tags=frozenset(
        "a abbr acronym b blockquote cite code del em i q s strike strong p br "
        "h1 h2 h3 h4 h5 h6 ul ol li dl dt dd img picture source figure figcaption table thead "
        "tbody tfoot "
        "tr th td pre hr sup sub mark kbd samp var small span div ins u".split()
    ),
    attributes={
        "a": frozenset({"href", "title", "id"}),
        "abbr": frozenset({"title"}),
        "acronym": frozenset({"title"}),
        "blockquote": frozenset({"cite"}),
        "del": frozenset({"datetime"}),
        "ins": frozenset({"datetime"}),
        "q": frozenset({"cite"}),
        "img": frozenset(
            {"src", "alt", "title", "width", "height", "loading", "decoding", "srcset", "sizes"}
        ),
        "source": frozenset({"srcset", "sizes", "type"}),
        "th": frozenset({"class", "colspan", "rowspan", "scope"}),
        "td": frozenset({"class", "colspan", "rowspan"}),
        "ol": frozenset({"start", "reversed"}),
        "code": frozenset({"class"}),
        "li": frozenset({"id"}),
        "sup": frozenset({"id"}),
        **{f"h{n}": frozenset({"id"}) for n in range(1, 7)},
    },
    relative_ok=True,
    link_rel=None,
)


def browser_scheme(value: str) -> str:
    """Return the scheme the WHATWG URL parser finds in a decoded attribute value."""
    value = value.strip("".join(map(chr, range(0x21))))
    value = re.sub(r"[\t\n\r]", "", value)
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*):", value)
    return match.group(1).lower() if match else ""


def violations(html: str, policy: Policy = COMMENT_POLICY) -> list[str]:
    """Return what in html breaks policy (empty when it is safe)."""
    problems = []
    root = parse(html, container="div")
    for element in root.iter():
        tag = element.tag
        if element is root:
            continue
        if not isinstance(tag, str):  # a comment node
            problems.append(f"HTML comment {element.text!r}")
            continue
        if tag not in policy.tags:
            problems.append(f"element <{tag}>")
        allowed = policy.attributes.get(tag, frozenset())
        for name, value in element.attrib.items():
            name = name if isinstance(name, str) else str(name)
            lowered = name.lower()
            if lowered.startswith("on"):
                problems.append(f"event handler {name}= on <{tag}>")
            if lowered.startswith(("hx-", "data-")):
                problems.append(f"htmx/data attribute {name}= on <{tag}>")
            if name not in allowed:
                problems.append(f"attribute {name}= on <{tag}>")
            if lowered == "srcset":
                # Every candidate of a srcset is fetched like an image's src.
                for candidate in value.split(","):
                    url = candidate.strip().split(" ")[0]
                    scheme = browser_scheme(url)
                    if scheme not in policy.image_schemes and (scheme or not policy.relative_ok):
                        problems.append(f"image URL {url!r} in srcset")
            if lowered in policy.url_attributes:
                scheme = browser_scheme(value)
                if tag == "img" and lowered == "src":
                    if scheme not in policy.image_schemes and (scheme or not policy.relative_ok):
                        problems.append(f"image URL {value!r}")
                elif scheme and scheme not in policy.schemes:
                    problems.append(f"URL scheme {scheme!r} in {name}={value!r}")
                elif not scheme and not policy.relative_ok:
                    problems.append(f"relative URL in {name}={value!r}")
        if tag == "a" and policy.link_rel is not None:
            if element.get("rel") != policy.link_rel:
                problems.append(f"<a> with rel={element.get('rel')!r}")
    return problems
