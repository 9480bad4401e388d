"""auth: delegations (employees acting for an enterprise) and what a session acts for

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_delegations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('enterprise_id', sa.String(length=36), nullable=False),
    sa.Column('delegate_account_id', sa.String(length=36), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('granted_by', sa.String(length=36), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['delegate_account_id'], ['auth_accounts.id'], name=op.f('fk_auth_delegations_delegate_account_id_auth_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_delegations'))
    )
    with op.batch_alter_table('auth_delegations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_delegations_delegate_account_id'), ['delegate_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_delegations_enterprise_id'), ['enterprise_id'], unique=False)

    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acting_for', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('acting_label', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('acting_label')
        batch_op.drop_column('acting_for')

    with op.batch_alter_table('auth_delegations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_delegations_enterprise_id'))
        batch_op.drop_index(batch_op.f('ix_auth_delegations_delegate_account_id'))

    op.drop_table('auth_delegations')
