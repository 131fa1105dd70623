"""The Movable Type / TypePad export format ("MTI"): a parser and a writer.

An entry is a header of ``KEY: value`` lines and sections (``BODY:``, ``COMMENT:``...),
each section ending with a line of five dashes and the entry with a line of eight.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import BinaryIO, TextIO

from blog.porting.entries import FormatError, ParsedComment, ParsedEntry, ParsedPing
from blog.porting.mtpaths import entry_files

ENTRY_END = "--------"
SECTION_END = "-----"
SECTIONS = ("BODY", "EXTENDED BODY", "EXCERPT", "KEYWORDS", "COMMENT", "PING")
COMMENT_KEYS = ("AUTHOR", "EMAIL", "URL", "IP", "DATE")
PING_KEYS = ("TITLE", "URL", "IP", "BLOG NAME", "DATE")
STATUSES = {"publish": "published", "draft": "draft", "future": "scheduled", "review": "draft"}
HTML_FORMATS = {"0", "wysiwyg", "richtext", "html", "raw"}
BREAK_FORMATS = {"1", "__default__", "convert_breaks", ""}

_KEY_LINE = re.compile(r"^([A-Z][A-Z ]*?):(?: (.*))?$")
_DATE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$")


def looks_like(head: str) -> bool:
    """Return True when the first lines of a file look like a Movable Type export."""
    for line in head.lstrip("\ufeff").splitlines():
        if line.strip():
            match = _KEY_LINE.match(line.rstrip("\r"))
            return bool(match) and match.group(1) in _HEADER_KEYS
    return False


_HEADER_KEYS = {
    "AUTHOR",
    "TITLE",
    "BASENAME",
    "STATUS",
    "ALLOW COMMENTS",
    "ALLOW PINGS",
    "CONVERT BREAKS",
    "PRIMARY CATEGORY",
    "CATEGORY",
    "TAGS",
    "DATE",
    "NO ENTRY",
    "UNIQUE URL",
}


def parse_date(text: str, zone: tzinfo, line: int) -> tuple[datetime, datetime]:
    """Return (local naive, UTC aware) for an MT date in either of its two forms."""
    text = text.strip()
    match = _DATE.match(text)
    try:
        if match:
            month, day, year, hour, minute, second, half = match.groups()
            hour_n = int(hour)
            if half:
                if not 1 <= hour_n <= 12:
                    raise ValueError("hour must be 1 to 12 with AM/PM")
                hour_n = hour_n % 12 + (12 if half.lower() == "pm" else 0)
            local = datetime(int(year), int(month), int(day), hour_n, int(minute), int(second or 0))
        elif iso := _ISO_DATE.match(text):
            year, month, day, hour, minute, second = iso.groups()
            local = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
            )
        else:
            raise ValueError("expected MM/DD/YYYY hh:mm:ss AM|PM or MM/DD/YYYY HH:MM:SS")
    except ValueError as error:
        raise FormatError(f"cannot read the date {text!r}: {error}", line) from None
    return local, local.replace(tzinfo=zone).astimezone(UTC)


def format_date(when: datetime, zone: tzinfo) -> str:
    """Write a date the way Movable Type does: MM/DD/YYYY hh:mm:ss AM|PM, in zone."""
    return when.astimezone(zone).strftime("%m/%d/%Y %I:%M:%S %p")


def split_tags(text: str, *, spaces: bool = False) -> list[str]:
    """Split a tag list on commas (or on spaces when spaces=True); quotes keep a tag whole."""
    tags: list[str] = []
    current: list[str] = []
    quote = ""
    quoted = False
    separators = ", \t" if spaces else ","
    for char in text:
        if quote:
            if char == quote:
                quote = ""
            else:
                current.append(char)
        elif char in "\"'" and not "".join(current).strip():
            quote, quoted, current = char, True, []
        elif char in separators:
            tags.append("".join(current) if quoted else "".join(current).strip())
            current, quoted = [], False
        else:
            current.append(char)
    tags.append("".join(current) if quoted else "".join(current).strip())
    return [" ".join(t.split()) for t in tags if t.strip()]


def split_keywords(text: str) -> list[str]:
    """KEYWORDS: comma-separated when there is a comma outside quotes, else space-separated."""
    outside = re.sub(r"\"[^\"]*\"|'[^']*'", "", text)
    return split_tags(text, spaces="," not in outside)


def quote_tags(names: Iterable[str]) -> str:
    """Write tags for a TAGS line, quoting those with commas or spaces."""
    out = []
    for name in names:
        if '"' in name and "'" not in name:
            out.append(f"'{name}'")
            continue
        name = name.replace('"', "'")
        out.append(f'"{name}"' if re.search(r"[\s,']", name) else name)
    return ",".join(out)


def slug_basename(title: str, length: int = 30) -> str:
    """The basename of an entry exported without one, from which its new slug is made.

    Not Movable Type's dirify (blog/porting/dirify.py has that, for the old addresses): this
    keeps letters of every script, so that a title in any script gives a readable slug, and
    it stays as it was so that importing again finds the posts an earlier import made."""
    text = re.sub(r"<[^>]*>", "", title).lower()
    text = re.sub(r"&[^;\s]+;", "", text)
    text = re.sub(r"[^\w\s]", "", text)
    return re.sub(r"\s+", "_", text.strip())[:length]


def old_paths(basename: str, local: datetime) -> list[tuple[str, str]]:
    """The addresses Movable Type and TypePad gave an entry and its comment feed.

    Without the blog's folder (/blog/...): the redirect looks an address up under any."""
    return entry_files(basename, local)


def _lines(fh: BinaryIO) -> Iterator[tuple[int, str, int]]:
    """Yield (line number, text without line ending, bytes read) for a UTF-8 file."""
    for number, raw in enumerate(fh, 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise FormatError(
                f"byte {error.start + 1} of this line ({raw[error.start : error.start + 1]!r}) "
                "is not UTF-8; "
                "save the export as UTF-8 and import it again",
                number,
            ) from None
        if number == 1:
            text = text.lstrip("\ufeff")
        yield number, text.rstrip("\r\n").rstrip("\r"), len(raw)


class _Entry:
    """An entry being read: the header fields and the sections seen so far."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.fields: dict[str, tuple[str, int]] = {}
        self.categories: list[str] = []
        self.tags: list[str] = []
        self.sections: list[tuple[str, int, list[str]]] = []

    def empty(self) -> bool:
        return not self.fields and not self.categories and not self.sections


def parse(
    fh: BinaryIO, zone: tzinfo = UTC, progress: Callable[[int], None] | None = None
) -> Iterator[ParsedEntry]:
    """Read a Movable Type export, yielding one ParsedEntry per entry; raise FormatError."""
    entry: _Entry | None = None
    state = "header"  # header -> section-start -> section -> section-start ...
    section: list[str] = []
    read = 0
    number = 0
    for number, line, size in _lines(fh):
        read += size
        if entry is None:
            if not line.strip():
                continue
            entry, state = _Entry(number), "header"
        if line == ENTRY_END:
            if state == "section":
                entry.sections[-1][2].extend(section)
            if not entry.empty():
                yield _finish(entry, zone)
            if progress:
                progress(read)
                read = 0
            entry = None
            continue
        if state == "header":
            if line == SECTION_END:
                state = "section-start"
            elif line.strip():
                _header_line(entry, line, number)
        elif state == "section-start":
            if not line.strip():
                continue
            name = line[:-1] if line.endswith(":") else ""
            if name not in SECTIONS:
                raise FormatError(
                    f"expected a section name ({', '.join(s + ':' for s in SECTIONS)}) "
                    f"after a line of five dashes, found {line[:60]!r}",
                    number,
                )
            entry.sections.append((name, number, []))
            section, state = entry.sections[-1][2], "section"
        elif line == SECTION_END:
            state = "section-start"
        else:
            section.append(line)
    if entry is not None and not entry.empty():
        raise FormatError(
            f"the file ends inside the entry that starts at line {entry.line} "
            "(no closing line of eight dashes): the export looks cut short",
            number,
        )
    if progress and read:
        progress(read)


def _header_line(entry: _Entry, line: str, number: int) -> None:
    match = _KEY_LINE.match(line)
    if not match:
        raise FormatError(
            f"expected 'KEY: value' in the entry's header, found {line[:60]!r}", number
        )
    key, value = match.group(1), (match.group(2) or "").strip()
    if key == "CATEGORY" or key == "PRIMARY CATEGORY":
        if value and value not in entry.categories:
            entry.categories.append(value)
    elif key == "TAGS":
        entry.tags.extend(split_tags(value))
    else:
        entry.fields.setdefault(key, (value, number))


def _text(lines: list[str]) -> str:
    # A separator-looking line inside a section was written with a leading space: undo it.
    return "\n".join(_ESCAPED.get(line, line) for line in lines).strip("\n")


_ESCAPED = {" " + SECTION_END: SECTION_END, " " + ENTRY_END: ENTRY_END}


def _finish(raw: _Entry, zone: tzinfo) -> ParsedEntry:
    """Turn the fields and sections of one entry into a ParsedEntry."""
    fields = raw.fields
    title = fields.get("TITLE", ("", 0))[0]
    status_text, status_line = fields.get("STATUS", ("Publish", raw.line))
    entry = ParsedEntry(line=raw.line, title=title, basename="", status="", date=None)
    entry.status = STATUSES.get(status_text.lower(), "")
    if not entry.status:
        entry.status = "draft"
        entry.warnings.append(
            f"line {status_line}: unknown STATUS {status_text!r}, imported as a draft"
        )
    local = None
    if "DATE" in fields:
        local, entry.date = parse_date(fields["DATE"][0], zone, fields["DATE"][1])
    entry.comments_open = fields.get("ALLOW COMMENTS", ("1", 0))[0] == "1"
    convert = fields.get("CONVERT BREAKS", ("__default__", 0))[0].strip().lower()
    if convert in HTML_FORMATS:
        entry.body_format = "html"
    elif convert.startswith("markdown"):
        entry.body_format = "markdown"
    else:
        entry.body_format = "breaks"
        if convert not in BREAK_FORMATS:
            entry.warnings.append(
                f"line {fields['CONVERT BREAKS'][1]}: text format {convert!r} is not supported; "
                "its line breaks were kept as paragraphs"
            )
    tags = list(raw.categories) + raw.tags
    for name, line, lines in raw.sections:
        if name == "BODY":
            entry.body = _text(lines)
        elif name == "EXTENDED BODY":
            entry.extended = _text(lines)
        elif name == "EXCERPT":
            entry.excerpt = _text(lines)
        elif name == "KEYWORDS":
            tags.extend(split_keywords(" ".join(lines)))
        elif name == "COMMENT":
            entry.comments.append(_comment(line, lines, zone))
        else:
            entry.pings.append(_ping(line, lines))
    entry.tags = tags
    entry.categories = list(raw.categories)
    entry.local_date = local
    entry.basename = fields.get("BASENAME", ("", 0))[0]
    if not entry.basename:
        entry.basename, entry.basename_rebuilt = slug_basename(title), True
    if not (title.strip() or entry.body.strip() or entry.extended.strip()):
        entry.skip = "empty entry: no title and no body"
    elif entry.date is None:
        if entry.status == "published" or entry.status == "scheduled":
            entry.skip = "no DATE, so no address or place in the archive"
    if local is not None and entry.basename and not entry.basename_rebuilt:
        entry.old_paths = old_paths(entry.basename, local)
    return entry


def _section_headers(lines: list[str], keys: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Split a comment or ping section into its header lines and the text after them."""
    headers: dict[str, str] = {}
    for line in lines:
        match = _KEY_LINE.match(line)
        if not match or match.group(1) not in keys or match.group(1) in headers:
            break
        headers[match.group(1)] = (match.group(2) or "").strip()
    return headers, lines[len(headers) :]


def _comment(line: int, lines: list[str], zone: tzinfo) -> ParsedComment:
    headers, text = _section_headers(lines, COMMENT_KEYS)
    date = None
    if headers.get("DATE"):
        date = parse_date(headers["DATE"], zone, line + list(headers).index("DATE") + 1)[1]
    return ParsedComment(
        line=line,
        author=headers.get("AUTHOR", ""),
        text=_text(text),
        date=date,
        email=headers.get("EMAIL", ""),
        url=headers.get("URL", ""),
        ip=headers.get("IP", ""),
    )


def _ping(line: int, lines: list[str]) -> ParsedPing:
    headers, _text_lines = _section_headers(lines, PING_KEYS)
    return ParsedPing(
        line=line,
        url=headers.get("URL", ""),
        title=headers.get("TITLE", ""),
        blog_name=headers.get("BLOG NAME", ""),
    )


# --- Writing ----------------------------------------------------------------------------


def _safe_lines(text: str) -> str:
    """Keep text from ending a section early: a separator-looking line gets a leading space."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(" " + t if t.strip() in (SECTION_END, ENTRY_END) else t for t in lines)


def write_entry(
    out: TextIO,
    *,
    author: str,
    title: str,
    basename: str,
    status: str,
    comments_open: bool,
    convert_breaks: str,
    tags: list[str],
    date: datetime,
    body: str,
    extended: str,
    excerpt: str,
    comments: Iterable[dict],
    zone: tzinfo,
) -> None:
    """Write one entry; comments are dicts with author, email, url, ip, date, text."""
    status_word = {"published": "Publish", "scheduled": "Future"}.get(status, "Draft")
    header = [
        f"AUTHOR: {author}",
        f"TITLE: {' '.join(title.split())}",
        f"BASENAME: {basename}",
        f"STATUS: {status_word}",
        f"ALLOW COMMENTS: {1 if comments_open else 0}",
        "ALLOW PINGS: 0",
        f"CONVERT BREAKS: {convert_breaks}",
    ]
    if tags:
        header.append(f"TAGS: {quote_tags(tags)}")
    header.append(f"DATE: {format_date(date, zone)}")
    out.write("\n".join(header) + "\n-----\n")
    out.write(f"BODY:\n{_safe_lines(body)}\n-----\n")
    if extended:
        out.write(f"EXTENDED BODY:\n{_safe_lines(extended)}\n-----\n")
    if excerpt:
        out.write(f"EXCERPT:\n{_safe_lines(excerpt)}\n-----\n")
    for c in comments:
        out.write(
            "COMMENT:\n"
            f"AUTHOR: {' '.join(c['author'].split())}\n"
            f"EMAIL: {c['email'].strip()}\n"
            f"URL: {c['url'].strip()}\n"
            f"IP: {c['ip'].strip()}\n"
            f"DATE: {format_date(c['date'], zone)}\n"
            f"{_safe_lines(c['text'])}\n-----\n"
        )
    out.write(ENTRY_END + "\n")
