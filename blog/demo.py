"""The demo blog: a few posts and conversations so a new install shows every part of a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from blog.comments.store import add_comment
from blog.content import save_post
from blog.extensions import db
from blog.models import Post, PostKind, PostStatus, User

AUTHOR = {"username": "writer", "display_name": "Nell Carrow"}

# Each post: title, days ago, tags, comments open, excerpt, body, and comments as
# (name, url, minutes after the post, text).
POSTS = [
    (
        "Why I keep a notebook next to the keyboard",
        120,
        ["writing", "habits"],
        True,
        "A paper notebook catches the ideas a browser tab would swallow.",
        """Every idea I have had for this blog started on paper. Not because paper is
romantic, but because a notebook has no notifications.

When a thought arrives while I am answering email, I write one line in the notebook
and go back to the email. At the end of the week I read the lines back. Most of them
are dull. One or two are worth a post.

## What goes in

- a sentence I overheard and liked;
- a question a reader asked that I could not answer;
- a link, copied out by hand, which is a good filter for whether I care.

The keyboard is for finishing things. The notebook is for starting them.""",
        [],
    ),
    (
        "A reading list for the winter",
        95,
        ["reading"],
        True,
        "Five books I plan to read slowly, and why each one is on the list.",
        """Winter is when I read the long books. This year's pile is short on purpose:
five books, one a month, with room to stop and write about each.

1. A history of letter writing, because comments are letters with a smaller stamp.
2. A novel told entirely in footnotes.
3. A field guide to mosses, for the walks.
4. A collection of essays on editing.
5. Something a reader recommends in the comments below.

That last slot is yours. Tell me what to read.""",
        [],
    ),
    (
        "Surfacing after a long quiet spell",
        60,
        ["writing", "community", "blogging"],
        False,
        "Seven months without a post, and what I learned about writing for others first.",
        """It has been seven months since the last post here, which is roughly a geological
age on the web. I did not stop writing. I stopped writing *here*.

My days filled with other people's words: newsletters I edit, posts I draft for
clients, threads I keep an eye on for them. By evening the part of me that wants to
think in public had nothing left to say.

## The trap of helping

Doing the work for someone else feels like doing the work. It uses the same tools
and the same muscles. But it answers their questions, not mine, and after a while
I noticed I had stopped asking any.

## Coming back

So this is a small return. I will write shorter posts, more often, and I will read
your replies properly. The conversation in the comments was always the best part of
keeping a blog, and I have missed it.

> A blog is a letter to people you have not met yet.

Let's see where it goes.""",
        [
            (
                "Tomas Reyes",
                "https://example.org/tomas",
                45,
                "Good to see a new post from you, Nell. The feed reader lit up and I cheered.",
            ),
            ("Nell Carrow", "", 90, "Thank you, Tomas. It feels good to be typing here again."),
            (
                "Priya Natarajan",
                "",
                180,
                "Welcome back. Writing all day for other people is draining; I know that tired "
                "feeling well.",
            ),
            (
                "June Okafor",
                "https://example.net/",
                300,
                "The bit about helping feeling like working is so true. Glad you came up for air.",
            ),
            (
                "Sam Whitley",
                "",
                420,
                "Same boat here. I have three drafts I never finished because work ate the "
                "evenings.",
            ),
            (
                "Nell Carrow",
                "",
                600,
                "Thanks, Priya, June and Sam. Sam, finish one of those drafts and send me the "
                "link: I'll read it.",
            ),
        ],
    ),
    (
        "Comments are the best part of a blog",
        30,
        ["community", "blogging"],
        True,
        "Why this blog keeps its comments on the page, with no widget and no tracking.",
        """Comments here live on the same page as the post, stored on the same server,
and they stay when you come back next year.

There is no third-party widget, no tracking script and no account to create. You
type your name and your words, and they appear under the post without the page
reloading. If you want, leave a website and your name links to it.

A few things I promise:

- your email address is never shown to anyone;
- you can follow any conversation with its own feed;
- spam is caught without sending your words to some other company.

Try it below. Say hello.""",
        [
            (
                "Ilse Brandt",
                "https://example.com/ilse",
                30,
                "Hello! Posting without signing in anywhere is a relief.",
            ),
            (
                "Marco Bellini",
                "",
                75,
                "Subscribed to the comment feed. It's nice to follow a single conversation again.",
            ),
        ],
    ),
    (
        "Small tools, used every day",
        7,
        ["habits", "tools"],
        True,
        "A text editor, a feed reader and a kitchen timer: my whole writing setup.",
        """People ask what I use to write. The honest answer is disappointingly small.

**A plain text editor.** Markdown, one file per post, no formatting to fight.

**A feed reader.** It brings me the blogs I follow instead of me going to look
for them, and it never decides for me what I should see first.

**A kitchen timer.** Twenty-five minutes of writing, five of anything else.

That is all. Every tool I added beyond these took more time than it saved.""",
        [
            (
                "Ravi Menon",
                "",
                120,
                "The kitchen timer is underrated. Mine is shaped like a tomato, of course.",
            ),
        ],
    ),
]

# A page: at /about/, in the navigation.
ABOUT = (
    "About",
    "about",
    "Who writes here, and why the comments matter more than the posts.",
    """I am Nell Carrow. I edit newsletters for a living and write here for myself: about
notebooks, reading, small tools, and the conversations that happen in the comments.

## Writing back

Most posts take comments, and I read all of them. Your email address is never shown,
and you need no account: a name and your words are enough.

## Following along

Each post and each conversation has its own feed; the links are at the bottom of
every page.""",
)

DRAFT = (
    "Notes toward a post about feed readers",
    "Half-written: which feed readers still work well, and what I want from one.",
)


def load_demo() -> int:
    """Add the demo author and posts unless the database already has posts; return posts added."""
    if db.session.scalar(sa.select(sa.func.count(Post.id))):
        return 0
    author = db.session.scalar(sa.select(User).where(User.username == AUTHOR["username"]))
    if author is None:
        # No password: nobody can log in as the demo author until first-run setup claims it.
        author = User(password_hash="", **AUTHOR)
        db.session.add(author)
        db.session.flush()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    for title, days_ago, tags, is_open, excerpt, body, comments in POSTS:
        published = now - timedelta(days=days_ago, hours=3)
        post = save_post(
            Post(),
            title=title,
            body=body,
            author_id=author.id,
            tags=tags,
            status=PostStatus.PUBLISHED,
            published_at=published,
            excerpt=excerpt,
            comments_open=True,
        )
        post.updated_at = published
        db.session.flush()
        for name, url, minutes, text in comments:
            add_comment(
                post,
                author_name=name,
                author_url=url,
                body=text,
                created_at=published + timedelta(minutes=minutes),
                user_id=author.id if name == AUTHOR["display_name"] else None,
                notify=False,
            )
        post.comments_open = is_open
    title, slug, excerpt, body = ABOUT
    about = save_post(
        Post(),
        title=title,
        body=body,
        author_id=author.id,
        tags=[],
        status=PostStatus.PUBLISHED,
        published_at=now - timedelta(days=150),
        slug=slug,
        excerpt=excerpt,
        comments_open=False,
        kind=PostKind.PAGE,
        nav_order=1,
    )
    about.updated_at = about.published_at
    title, body = DRAFT
    save_post(
        Post(),
        title=title,
        body=body,
        author_id=author.id,
        tags=["reading"],
        status=PostStatus.DRAFT,
        published_at=None,
    )
    db.session.commit()
    return len(POSTS)
