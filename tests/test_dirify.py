"""Movable Type's dirify and basenames, ported: the same answers as Movable Type's own Perl."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from blog.porting.dirify import XLITERATE, dirify, entry_basename, first_n_words
from blog.porting.mtpaths import BasenameGuesser, category_basenames

REFERENCE = Path(__file__).parent / "data" / "mt-dirify.tsv"


def _reference() -> list[tuple[str, str, str]]:
    rows = []
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            title, old, new = line.split("\t")
            rows.append((title, old, new))
    return rows


@pytest.mark.parametrize(("title", "mt3", "mt5"), _reference())
def test_dirify_gives_what_movable_type_gave(title, mt3, mt5):
    """Each line of the reference was made by Movable Type's Perl (tests/tools/...)."""
    assert dirify(title, keep_hyphens=False) == mt3
    assert dirify(title) == mt5


def test_the_reference_covers_the_cases_that_matter():
    titles = [title for title, _old, _new in _reference()]
    assert len(titles) >= 25
    # Every letter of the transliteration table is in one of the titles.
    letters = {key.decode() for key in XLITERATE}
    assert len(letters) == 190
    assert letters <= set("".join(titles))


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("What I've Been Up To: Some Social Media Training Resources", "what_ive_been_u"),
        ("Café notes: crème brûlée", "cafe_notes_crem"),
        ("Hi", "hi"),
        ("東京の雨", "post"),  # nothing is left: Movable Type called it "post"
        ("Привет, мир", "post"),  # "_" alone, and trailing underscores go
        ("Weekly links: March 1", "weekly_links_ma"),
        ("Ends with a space before the cut point", "ends_with_a_spa"),
        ("Fifteen chars! then more", "fifteen_chars_t"),
        ("abcdefghijklmn opq", "abcdefghijklmn"),  # the cut leaves "_" at the end: stripped
    ],
)
def test_basename_of_early_typepad(title, expected):
    assert entry_basename(title, limit=15, keep_hyphens=False) == expected


def test_basename_limits_as_movable_type_clamps_them():
    title = "What I've Been Up To: Some Social Media Training Resources"
    assert entry_basename(title, limit=30, keep_hyphens=True) == "what_ive_been_up_to_some_socia"
    assert entry_basename(title, limit=5, keep_hyphens=True) == "what_ive_been_u"  # at least 15
    whole = "what_ive_been_up_to_some_social_media_training_resources"
    assert entry_basename(title, limit=1000, keep_hyphens=True) == whole  # at most 250


def test_an_untitled_entry_is_named_after_its_first_five_words():
    text = "<p>Just a <b>quick</b> note to say the move is done.</p>"
    assert first_n_words(text) == "Just a quick note to"
    assert entry_basename("  ", text, limit=30, keep_hyphens=True) == "just_a_quick_note_to"
    assert entry_basename("", "", limit=30, keep_hyphens=True) == "post"
    # Perl's split keeps an empty first word before leading space: so does the port.
    assert first_n_words(" one two") == " one two"


def test_hyphens_in_titles_changed_with_movable_type_4_2():
    assert dirify("Well-known facts", keep_hyphens=False) == "wellknown_facts"
    assert dirify("Well-known facts") == "well-known_facts"
    assert dirify("Well-known facts", "-") == "well-known-facts"


def test_every_era_gives_a_candidate_of_the_issue_s_example():
    guesser = BasenameGuesser()
    title = "What I've Been Up To: Some Social Media Training Resources"
    paths = {p.path: p for p in guesser.paths(title, "", datetime(2009, 10, 5, 14, 30))}
    assert "/2009/10/what_ive_been_u.html" in paths
    assert paths["/2009/10/what_ive_been_u.html"].target == "post"
    assert paths["/2009/10/what_ive_been_u/comments/atom.xml"].target == "comments-feed"
    assert "/2009/10/what-ive-been-up-to-some-socia.html" in paths  # MT 4's %-f, 30
    long = "/2009/10/what-ive-been-up-to-some-social-media-training-resources.html"
    assert long in paths
    assert paths["/2009/10/what_ive_been_u.html"].how == "rebuilt: cut at 15 characters"


def test_a_later_entry_with_a_taken_basename_also_gets_the_numbered_one():
    guesser = BasenameGuesser()
    first = {p.path for p in guesser.paths("東京の雨", "", datetime(2006, 1, 20))}
    second = {p.path for p in guesser.paths("Привет, мир", "", datetime(2007, 2, 5))}
    assert "/2006/01/post.html" in first and "/2006/01/post_1.html" not in first
    assert {"/2007/02/post.html", "/2007/02/post_1.html", "/2007/02/post-1.html"} <= second


def test_the_writer_s_own_length_adds_candidates():
    title = "What I've Been Up To: Some Social Media Training Resources"
    plain = {p.path for p in BasenameGuesser().paths(title, "", datetime(2009, 10, 5))}
    custom = {p.path for p in BasenameGuesser([20]).paths(title, "", datetime(2009, 10, 5))}
    assert custom - plain == {
        "/2009/10/what_ive_been_up_to.html",
        "/2009/10/what-ive-been-up-to.html",
        "/2009/10/what_ive_been_up_to/comments/atom.xml",
        "/2009/10/what-ive-been-up-to/comments/atom.xml",
    }


def test_category_folders():
    assert category_basenames("Food & Drink") == ["food_drink", "food-drink"]
    assert category_basenames("東京") == []  # Movable Type used cat-<id>: unknown here
    names = category_basenames("Social Media Marketing Tips")
    assert "social_media_ma" in names and "social_media_marketing_tips" in names
