"""platform: background jobs (transactional outbox)

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('platform_jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('run_after', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('done_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('failed_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_jobs'))
    )
    with op.batch_alter_table('platform_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_platform_jobs_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_platform_jobs_run_after'), ['run_after'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('platform_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_platform_jobs_run_after'))
        batch_op.drop_index(batch_op.f('ix_platform_jobs_kind'))

    op.drop_table('platform_jobs')
