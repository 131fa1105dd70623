"""What a post page shows of its webmentions besides replies: likes, reposts, mentions.

Read while the comment section's list is rendered (blog.comments.section), so it is cached with
that list under Post.revision, which every change to these rows bumps (blog.webmention.store).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from blog.extensions import db
from blog.models import CommentStatus
from blog.webmention.models import MentionKind, MentionState, Webmention

# Past this many likes (or reposts), the row names the first ones and counts the rest.
ROW_NAMES = 50


@dataclass(frozen=True)
class Reactions:
    likes: list[Webmention] = field(default_factory=list)
    reposts: list[Webmention] = field(default_factory=list)
    mentions: list[Webmention] = field(default_factory=list)
    more_likes: int = 0
    more_reposts: int = 0


def for_post(post_id: int) -> Reactions:
    """Return the post's approved, verified likes, reposts and mentions, oldest first."""
    rows = db.session.scalars(
        sa.select(Webmention)
        .where(
            Webmention.post_id == post_id,
            Webmention.state == MentionState.VERIFIED,
            Webmention.status == CommentStatus.APPROVED,
            Webmention.kind != MentionKind.REPLY,
        )
        .order_by(Webmention.received_at, Webmention.id)
    ).all()
    by_kind: dict[str, list[Webmention]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    likes = by_kind.get(MentionKind.LIKE, [])
    reposts = by_kind.get(MentionKind.REPOST, [])
    return Reactions(
        likes=likes[:ROW_NAMES],
        reposts=reposts[:ROW_NAMES],
        mentions=by_kind.get(MentionKind.MENTION, []),
        more_likes=max(len(likes) - ROW_NAMES, 0),
        more_reposts=max(len(reposts) - ROW_NAMES, 0),
    )
