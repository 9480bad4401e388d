"""auth: accounts, sessions and role assignments

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_accounts',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('subject_id', sa.String(length=36), nullable=True),
    sa.Column('primary_agency_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('citizen', 'organisation', 'officer', 'admin')", name=op.f('ck_auth_accounts_kind')),
    sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f('ck_auth_accounts_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_accounts')),
    sa.UniqueConstraint('username', name=op.f('uq_auth_accounts_username'))
    )
    with op.batch_alter_table('auth_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_accounts_primary_agency_id'), ['primary_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_accounts_subject_id'), ['subject_id'], unique=False)

    op.create_table('auth_role_assignments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=64), nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=False),
    sa.Column('granted_by', sa.String(length=36), nullable=True),
    sa.Column('granted_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_auth_role_assignments_account_id_auth_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_role_assignments')),
    sa.UniqueConstraint('account_id', 'role', 'agency_id', name=op.f('uq_auth_role_assignments_account_id_role_agency_id'))
    )
    op.create_table('auth_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('acr', sa.String(length=16), nullable=False),
    sa.Column('revoked_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_auth_sessions_account_id_auth_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions'))
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_sessions_account_id'), ['account_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_sessions_account_id'))

    op.drop_table('auth_sessions')
    op.drop_table('auth_role_assignments')
    with op.batch_alter_table('auth_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_accounts_subject_id'))
        batch_op.drop_index(batch_op.f('ix_auth_accounts_primary_agency_id'))

    op.drop_table('auth_accounts')
