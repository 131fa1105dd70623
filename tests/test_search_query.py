"""The search box's syntax and the snippets, without a database (blog/search: query, snippet)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from blog.search import sqlite
from blog.search.query import MAX_TERMS, parse
from blog.search.snippet import highlight, snippet
from tests.helpers.html import parse as parse_html


def shape(text: str):
    """The query as nested lists of term texts: [[group terms]...], [excluded]."""
    query = parse(text)
    return [[t.text for t in group] for group in query.groups], [t.text for t in query.excluded]


def test_words_phrases_exclusions_and_or():
    assert shape("notebook keyboard") == ([["notebook"], ["keyboard"]], [])
    assert shape('"next to  the" keyboard') == ([["next to the"], ["keyboard"]], [])
    assert shape('moss -garden -"stone wall"') == ([["moss"]], ["garden", "stone wall"])
    # OR binds the terms beside it, tighter than the words around it.
    assert shape("tea OR coffee biscuits") == ([["tea", "coffee"], ["biscuits"]], [])
    assert shape("a OR b OR c") == ([["a", "b", "c"]], [])


def test_anything_else_is_words():
    assert shape('"left open') == ([["left"], ["open"]], [])
    assert shape("or and NOT") == ([["or"], ["and"], ["NOT"]], [])  # only OR is an operator
    assert shape("OR tea OR") == ([["tea"]], [])  # an OR with nothing beside it is dropped
    assert shape("tea OR -milk") == ([["tea"]], ["milk"])
    assert shape("* -- ^ : ( )") == ([], [])  # no letter or digit: nothing to look for
    assert shape("NEAR(a b) title:x col*") == ([["NEAR(a"], ["b)"], ["title:x"], ["col*"]], [])
    assert parse("-alone").only_excludes


def test_terms_are_capped():
    query = parse(" ".join(f"w{i}" for i in range(MAX_TERMS + 5)))
    assert len(query.terms) == MAX_TERMS and query.dropped == 5


def test_fts5_expression_quotes_every_term():
    expression = sqlite.expression(parse('tea OR "green tea" -milk NEAR(x) a"b'))
    assert expression == '(("tea" OR "green tea") AND ("NEAR(x)") AND ("a") AND ("b")) NOT "milk"'


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fts5_expression_holds_only_strings_and_operators(text):
    """Whatever is typed, the expression is quoted strings joined by AND, OR, NOT, parentheses."""
    query = parse(text)
    if not query.groups:
        return
    rest = sqlite.expression(query)
    # Remove every string (doubled quotes inside one are part of it), then the operators.
    import re

    rest = re.sub(r'"(?:[^"]|"")*"', "S", rest)
    assert set(re.sub(r"\b(?:AND|OR|NOT)\b", "", rest)) <= set("S() "), rest


def test_highlight_escapes_and_marks():
    marked = highlight("Why <b>notebooks</b> & a Notebook", parse("notebook"))
    assert str(marked) == "Why &lt;b&gt;notebooks&lt;/b&gt; &amp; a <mark>Notebook</mark>"


def test_snippet_marks_phrases_accents_and_escapes():
    middle = 'The <script>alert("x")</script> Café au lait at the cafe. '
    text = "Intro. " * 60 + middle + "End. " * 60
    html = str(snippet(text, parse('cafe "au lait"')))
    doc = parse_html(f"<p>{html}</p>")
    marks = [" ".join(m.itertext()) for m in doc.iter("mark")]
    assert marks == ["Café", "au lait", "cafe"]
    assert not doc.xpath("//script")
    assert '<script>alert("x")</script>' in "".join(doc.find(".//p").itertext())
    assert html.startswith("… ") and html.endswith(" …")


def test_snippet_shows_the_start_when_nothing_matches_in_the_text():
    assert str(snippet("Only the title matched.", parse("heading"))) == "Only the title matched."
