"""The discussion blocklist, compiled once per version of the settings: one regex, one network list.

The writer's blocklist may hold thousands of entries (the settings form takes 50 KB). Matching
it entry by entry compiled a regex and parsed an IP network per entry for every comment: about
1 s a comment at 5,000 entries. `compiled()` turns the entries into

- one regular expression for the words and phrases (a trie of the needles, so each position of
  the text costs one walk down a tree instead of one try per entry),
- a dict of the emails and @domains,
- one sorted list of IP networks per address family, each knowing the network around it,

and keeps the result per process, keyed by the entries themselves: another process saving new
settings changes the key, so the next comment here compiles the new list; nothing goes stale.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from dataclasses import dataclass

# Entries compiled per process, most recent first; a blog has one blocklist at a time, the
# others are the versions just replaced.
COMPILED_VERSIONS = 4


_END = ""  # the trie key marking that a word ends here


def _trie_pattern(words: list[str]) -> str:
    """Return a regex matching exactly the given strings, built as a trie (shared prefixes once)."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _node_pattern(trie)


def _node_pattern(node: dict) -> str:
    # A chain of single children is one literal: no recursion per character of a long entry.
    literal = []
    while len(node) == 1 and _END not in node:
        ((char, node),) = node.items()
        literal.append(re.escape(char))
    head = "".join(literal)
    branches = [re.escape(char) + _node_pattern(child) for char, child in node.items() if char]
    if not branches:
        return head
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # Longest match first: "buy now" is tried before "buy" at the same place.
    return head + (f"(?:{body})?" if _END in node else body)


def _words_regex(needles: list[str]) -> re.Pattern[str]:
    """Compile the needles as whole words, any case: no word character just before or after."""
    try:
        return re.compile(r"(?<!\w)" + _trie_pattern(needles) + r"(?!\w)", re.IGNORECASE)
    except RecursionError:
        # Only hundreds of nested prefixes ("a", "ab", "abc"...) nest the trie that deep:
        # a flat alternation, longest first, matches the same (more slowly).
        flat = "|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True))
        return re.compile(r"(?<!\w)(?:" + flat + r")(?!\w)", re.IGNORECASE)


@dataclass(frozen=True)
class _Networks:
    """The networks of one address family, sorted by first address, each with its parent.

    CIDR networks either nest or do not overlap, so the networks holding an address are the
    last one starting at or before it and that one's ancestors.
    """

    starts: list[int]
    ends: list[int]
    parents: list[int]  # index of the nearest enclosing network, -1 for none
    entries: list[str]

    @classmethod
    def build(cls, networks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]):
        ordered = sorted(networks, key=lambda n: (int(n[0].network_address), -n[0].num_addresses))
        starts, ends, parents, entries = [], [], [], []
        open_networks: list[int] = []  # indexes of the networks enclosing the current one
        for network, entry in ordered:
            start, end = int(network.network_address), int(network.broadcast_address)
            while open_networks and ends[open_networks[-1]] < start:
                open_networks.pop()
            parents.append(open_networks[-1] if open_networks else -1)
            starts.append(start)
            ends.append(end)
            entries.append(entry)
            open_networks.append(len(starts) - 1)
        return cls(starts, ends, parents, entries)

    def find(self, address: int) -> str | None:
        index = bisect.bisect_right(self.starts, address) - 1
        while index >= 0:
            if address <= self.ends[index]:
                return self.entries[index]
            index = self.parents[index]
        return None


@dataclass(frozen=True)
class Blocklist:
    """A compiled blocklist: ask `match()` about a comment."""

    words: re.Pattern[str] | None
    word_entries: dict[str, str]  # casefolded needle -> the entry as the writer typed it
    emails: dict[str, str]  # casefolded email or @domain -> entry
    networks: dict[int, _Networks]  # IP version -> networks

    def match(self, *, author_email: str, body: str, ip: str) -> str | None:
        """Return a blocklist entry the comment matches (its address, email or text), or None."""
        email = author_email.strip().casefold()
        if ip and self.networks:
            try:
                address = ipaddress.ip_address(ip.strip())
            except ValueError:
                address = None
            family = self.networks.get(address.version) if address is not None else None
            if family is not None and (entry := family.find(int(address))) is not None:
                return entry
        if email and self.emails:
            domain = "@" + email.rpartition("@")[2]
            entry = self.emails.get(email) or self.emails.get(domain)
            if entry is not None:
                return entry
        if self.words is not None:
            found = self.words.search(body) or (self.words.search(email) if email else None)
            if found is not None:
                return self._word_entry(found.group(0))
        return None

    def _word_entry(self, text: str) -> str:
        entry = self.word_entries.get(text.casefold())
        if entry is None:  # a letter whose any-case match folds differently (rare)
            entry = next(
                (e for n, e in self.word_entries.items() if re.fullmatch(re.escape(n), text, re.I)),
                text,
            )
        return entry


@functools.lru_cache(maxsize=COMPILED_VERSIONS)
def compiled(entries: tuple[str, ...]) -> Blocklist:
    """Compile the blocklist entries (kept per process, keyed by the entries themselves).

    An IP or network (10.0.0.0/8) matches the commenter's address; an email matches exactly and
    an @domain matches every address there; any other entry matches whole words of the text or
    the email, ignoring case.
    """
    words: dict[str, str] = {}
    emails: dict[str, str] = {}
    networks: dict[int, list] = {}
    for entry in entries:
        needle = entry.strip()
        if not needle:
            continue
        try:
            network = ipaddress.ip_network(needle, strict=False)
        except ValueError:
            network = None
        if network is not None:
            networks.setdefault(network.version, []).append((network, entry))
            continue
        folded = needle.casefold()
        if "@" in folded and " " not in folded:
            emails.setdefault(folded, entry)
        else:
            words.setdefault(folded, entry)
    return Blocklist(
        words=_words_regex(sorted(words)) if words else None,
        word_entries=words,
        emails=emails,
        networks={version: _Networks.build(found) for version, found in networks.items()},
    )
