"""old addresses of categories, archives and feeds, and where each address came from

Revision ID: legacy19a7c3
Revises: sec12a5e0f1d7
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'legacy19a7c3'
down_revision = 'sec12a5e0f1d7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('legacy_path', schema=None) as batch_op:
        batch_op.alter_column('post_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('tag_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('origin', sa.String(length=20), server_default='export', nullable=False)
        )
        batch_op.create_index(batch_op.f('ix_legacy_path_tag_id'), ['tag_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_legacy_path_tag_id_tag'), 'tag', ['tag_id'], ['id'], ondelete='CASCADE'
        )


def downgrade():
    # Addresses that lead to no post (categories, archives, feeds) cannot stay.
    op.execute('DELETE FROM legacy_path WHERE post_id IS NULL')
    with op.batch_alter_table('legacy_path', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_legacy_path_tag_id_tag'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_legacy_path_tag_id'))
        batch_op.drop_column('origin')
        batch_op.drop_column('tag_id')
        batch_op.alter_column('post_id', existing_type=sa.Integer(), nullable=False)
