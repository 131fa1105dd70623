"""comments: the format each is written in, and when it was edited

Revision ID: comm17a1b2c3
Revises: search16a7f3
Create Date: 2026-11-30 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'comm17a1b2c3'
down_revision = 'search16a7f3'
branch_labels = None
depends_on = None


def upgrade():
    # Every comment stored so far was plain text: the server default says so for them all.
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('format', sa.String(length=16), server_default='text', nullable=False)
        )
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('edited_at')
        batch_op.drop_column('format')
