"""oidc: relying parties, authorization codes and pushed requests, issued tokens, consents

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oidc_clients',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('client_type', sa.String(length=16), nullable=False),
    sa.Column('auth_method', sa.String(length=32), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=True),
    sa.Column('jwks', sa.Text(), nullable=True),
    sa.Column('redirect_uris', sa.Text(), nullable=False),
    sa.Column('post_logout_redirect_uris', sa.Text(), nullable=False),
    sa.Column('backchannel_logout_uri', sa.String(length=500), nullable=True),
    sa.Column('grant_types', sa.Text(), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('access_token_format', sa.String(length=8), nullable=False),
    sa.Column('sector_identifier', sa.String(length=255), nullable=False),
    sa.Column('require_dpop', sa.Boolean(), nullable=False),
    sa.Column('agency_id', sa.String(length=36), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('secret_rotated_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("access_token_format IN ('jwt', 'opaque')", name=op.f('ck_oidc_clients_access_token_format')),
    sa.CheckConstraint("client_type IN ('confidential', 'public')", name=op.f('ck_oidc_clients_client_type')),
    sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f('ck_oidc_clients_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_clients'))
    )
    op.create_table('oidc_authorizations',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('par', 'code', 'jti', 'dpop')", name=op.f('ck_oidc_authorizations_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_oidc_authorizations_account_id_auth_accounts')),
    sa.ForeignKeyConstraint(['client_id'], ['oidc_clients.id'], name=op.f('fk_oidc_authorizations_client_id_oidc_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_authorizations'))
    )
    with op.batch_alter_table('oidc_authorizations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_authorizations_client_id'), ['client_id'], unique=False)

    op.create_table('oidc_consents',
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('granted_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_oidc_consents_account_id_auth_accounts')),
    sa.ForeignKeyConstraint(['client_id'], ['oidc_clients.id'], name=op.f('fk_oidc_consents_client_id_oidc_clients')),
    sa.PrimaryKeyConstraint('account_id', 'client_id', name=op.f('pk_oidc_consents'))
    )
    op.create_table('oidc_tokens',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('family_id', sa.String(length=36), nullable=False),
    sa.Column('code_id', sa.String(length=64), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('claims', sa.Text(), nullable=False),
    sa.Column('issued_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('used_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('access', 'refresh')", name=op.f('ck_oidc_tokens_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_oidc_tokens_account_id_auth_accounts')),
    sa.ForeignKeyConstraint(['client_id'], ['oidc_clients.id'], name=op.f('fk_oidc_tokens_client_id_oidc_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_tokens'))
    )
    with op.batch_alter_table('oidc_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_tokens_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_tokens_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_tokens_code_id'), ['code_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_tokens_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_tokens_session_id'), ['session_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('oidc_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_tokens_session_id'))
        batch_op.drop_index(batch_op.f('ix_oidc_tokens_family_id'))
        batch_op.drop_index(batch_op.f('ix_oidc_tokens_code_id'))
        batch_op.drop_index(batch_op.f('ix_oidc_tokens_client_id'))
        batch_op.drop_index(batch_op.f('ix_oidc_tokens_account_id'))

    op.drop_table('oidc_tokens')
    op.drop_table('oidc_consents')
    with op.batch_alter_table('oidc_authorizations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_authorizations_client_id'))

    op.drop_table('oidc_authorizations')
    op.drop_table('oidc_clients')
