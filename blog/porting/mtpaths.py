"""The addresses a Movable Type or TypePad blog published: entries, categories, archives, feeds.

Entries lived at /YYYY/MM/<basename>.html (archive mapping %y/%m/%f: Movable Type 3, TypePad)
or with the basename's underscores as hyphens (%y/%m/%-f: the default from Movable Type 4.0),
their TypePad comment feed at /YYYY/MM/<basename>/comments/atom.xml; categories at
/<category basename>/ (%c/%i), months at /YYYY/MM/index.html (%y/%m/%i); the feeds beside the
main index. Read in Movable Type's source (lib/MT/WeblogPublisher.pm, lib/MT/ArchiveType/*,
lib/MT/DefaultTemplates.pm at the tags mt3.35 and mt4.2).

An export without BASENAME lines (Movable Type 3 exported none; old TypePad exports neither)
does not say where its entries lived: BasenameGuesser rebuilds their basenames the way each
era made them. Every era's answer becomes a candidate; the importer keeps those no other post
of the same month shares.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from blog.porting.dirify import dirify, entry_basename

# basename_limit: 15 for blogs from before Movable Type 3.2 (the 3.2 upgrade set it for them,
# lib/MT/Upgrade.pm) and early TypePad; 30 for new blogs from 3.2 to 4.1 (lib/MT/Blog.pm);
# 100 for new blogs from 4.2 on. make_unique_basename falls back to 30 when none is set.
DEFAULT_LIMITS = (15, 30, 100)
_RULE_NOTES = {
    False: "the title's hyphens dropped, as before Movable Type 4.2",
    True: "the title's hyphens kept, as from Movable Type 4.2",
}

# Feeds of the whole blog, beside its main index: atom.xml and index.xml are Movable Type 3's
# default index templates (RSS 2.0 in index.xml), atom.xml alone Movable Type 4's; index.rdf
# (RSS 1.0) and rss.xml are the names TypePad and Movable Type 2 published.
FEED_FILES = {"atom.xml": "atom", "index.xml": "rss", "index.rdf": "rss", "rss.xml": "rss"}


@dataclass(frozen=True, slots=True)
class OldPath:
    """An address the old blog published, what it showed (a LegacyPath target) and how it is
    known (for the report)."""

    path: str
    target: str
    how: str


def entry_files(basename: str, local: datetime) -> list[tuple[str, str]]:
    """An entry's page and TypePad comment feed for a basename: as written (%f) and with the
    underscores as hyphens (%-f, Movable Type 4's default)."""
    names = [basename]
    if "_" in basename:
        names.append(basename.replace("_", "-"))
    paths: list[tuple[str, str]] = []
    for name in names:
        base = f"/{local:%Y/%m}/{name}"
        paths.append((base + ".html", "post"))
        paths.append((base + "/comments/atom.xml", "comments-feed"))
    return paths


def limits_with(lengths: Iterable[int]) -> list[int]:
    """The basename limits to rebuild with: Movable Type's defaults and the writer's own."""
    return sorted({*DEFAULT_LIMITS, *lengths})


class BasenameGuesser:
    """Rebuild the basenames of entries exported without one, entry by entry in export order.

    Movable Type kept basenames unique in a blog by adding _1, _2... to a later entry's
    (make_unique_basename); it exports entries oldest first (by created_on, ImportExport.pm),
    so the n-th entry whose basename was taken also gets <basename>_<n> as a candidate."""

    def __init__(self, lengths: Iterable[int] = ()) -> None:
        self.limits = limits_with(lengths)
        self.taken: Counter[tuple[bool, int, str]] = Counter()

    def paths(self, title: str, text: str, local: datetime) -> list[OldPath]:
        """Every address an era could have given this entry (count it as taken)."""
        made: dict[tuple[str, str], tuple[set[int], set[bool]]] = {}
        for keep_hyphens in (False, True):
            for limit in self.limits:
                base = entry_basename(title, text, limit=limit, keep_hyphens=keep_hyphens)
                key = (keep_hyphens, limit, base)
                earlier = self.taken[key]
                self.taken[key] += 1
                for name in [base] + ([f"{base}_{earlier}"] if earlier else []):
                    for found in entry_files(name, local):
                        limits, rules = made.setdefault(found, (set(), set()))
                        limits.add(limit)
                        rules.add(keep_hyphens)
        return [
            OldPath(path, target, self._how(limits, rules))
            for (path, target), (limits, rules) in made.items()
        ]

    def _how(self, limits: set[int], rules: set[bool]) -> str:
        """Which eras make this address, in a few words (README: "Old links" has the eras)."""
        if len(limits) == len(self.limits):
            how = "rebuilt: the whole title"
        else:
            cuts = [str(n) for n in sorted(limits)]
            cut = cuts[0] if len(cuts) == 1 else ", ".join(cuts[:-1]) + " or " + cuts[-1]
            how = f"rebuilt: cut at {cut} characters"
        return how if len(rules) == 2 else f"{how}, {_RULE_NOTES[next(iter(rules))]}"


def category_basenames(label: str, lengths: Iterable[int] = ()) -> list[str]:
    """The folder names a category could have had: dirify of its label, whole (before
    Movable Type 3.3 categories had no basename of their own) or cut to a basename limit."""
    names: list[str] = []
    for keep_hyphens in (False, True):
        whole = dirify(label.strip(), keep_hyphens=keep_hyphens)
        for limit in (*limits_with(lengths), None):
            base = whole if limit is None else whole[:limit].rstrip("_")
            if not base.strip("_-"):
                continue  # Movable Type then used cat-<id>, which the export does not give
            for name in (base, base.replace("_", "-")):
                if name not in names:
                    names.append(name)
    return names


def category_paths(name: str) -> list[OldPath]:
    """A category's archive and its feeds, for one of its folder names."""
    return [
        OldPath(f"/{name}/", "tag", "the category's archive"),
        OldPath(f"/{name}/atom.xml", "tag-atom", "the category's feed"),
        OldPath(f"/{name}/index.rdf", "tag-rss", "the category's feed"),
        OldPath(f"/{name}/rss.xml", "tag-rss", "the category's feed"),
    ]


def month_path(year: int, month: int) -> OldPath:
    """A month's archive page (%y/%m/%i): /YYYY/MM/ itself is this blog's own archive."""
    return OldPath(f"/{year:04d}/{month:02d}/index.html", "month", "the monthly archive")


def site_paths() -> list[OldPath]:
    """The main index and the feeds of the whole blog."""
    # TypePad kept a blog in a folder, most often /blog/: its front page. (Any other folder
    # is learned from an --old-urls list.)
    paths = [
        OldPath("/index.html", "home", "the main index"),
        OldPath("/blog/", "home", "TypePad's front page"),
    ]
    for name, fmt in FEED_FILES.items():
        paths.append(OldPath(f"/{name}", f"posts-{fmt}", "the blog's feed"))
    # TypePad's comment feed of the whole blog, beside each post's .../comments/atom.xml.
    paths.append(OldPath("/comments/atom.xml", "comments-atom", "the comment feed"))
    paths.append(OldPath("/comments/rss.xml", "comments-rss", "the comment feed"))
    return paths
