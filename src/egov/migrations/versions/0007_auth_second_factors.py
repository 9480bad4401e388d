"""auth: second factors (TOTP, recovery codes, passkeys) and the methods a session was opened with

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_authenticators',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=True),
    sa.Column('secret_hash', sa.String(length=64), nullable=True),
    sa.Column('last_used_step', sa.BigInteger(), nullable=True),
    sa.Column('credential_id', sa.String(length=700), nullable=True),
    sa.Column('public_key', sa.LargeBinary(), nullable=True),
    sa.Column('sign_count', sa.BigInteger(), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('totp', 'recovery_code', 'passkey')", name=op.f('ck_auth_authenticators_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_auth_authenticators_account_id_auth_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_authenticators')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_auth_authenticators_credential_id'))
    )
    with op.batch_alter_table('auth_authenticators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_authenticators_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amr', sa.String(length=64), server_default='pwd', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('amr')

    with op.batch_alter_table('auth_authenticators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_authenticators_account_id'))

    op.drop_table('auth_authenticators')
