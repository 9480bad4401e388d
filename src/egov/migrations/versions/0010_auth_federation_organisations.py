"""auth: upstream OpenID providers, federated identities, organisation members, a service's level

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_upstream_providers',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('client_secret_sealed', sa.Text(), nullable=False),
    sa.Column('scopes', sa.String(length=300), nullable=False),
    sa.Column('personal_id_claim', sa.String(length=64), nullable=False),
    sa.Column('acr_map', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'disabled')", name=op.f('ck_auth_upstream_providers_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_upstream_providers')),
    sa.UniqueConstraint('issuer', name=op.f('uq_auth_upstream_providers_issuer'))
    )
    op.create_table('auth_federated_identities',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('provider_id', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_auth_federated_identities_account_id_auth_accounts')),
    sa.ForeignKeyConstraint(['provider_id'], ['auth_upstream_providers.id'], name=op.f('fk_auth_federated_identities_provider_id_auth_upstream_providers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_federated_identities')),
    sa.UniqueConstraint('provider_id', 'subject', name=op.f('uq_auth_federated_identities_provider_id_subject'))
    )
    with op.batch_alter_table('auth_federated_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_federated_identities_account_id'), ['account_id'], unique=False)

    op.create_table('auth_organisation_members',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organisation_account_id', sa.String(length=36), nullable=False),
    sa.Column('member_account_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('added_by', sa.String(length=36), nullable=False),
    sa.Column('added_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'member')", name=op.f('ck_auth_organisation_members_role')),
    sa.ForeignKeyConstraint(['member_account_id'], ['auth_accounts.id'], name=op.f('fk_auth_organisation_members_member_account_id_auth_accounts')),
    sa.ForeignKeyConstraint(['organisation_account_id'], ['auth_accounts.id'], name=op.f('fk_auth_organisation_members_organisation_account_id_auth_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_organisation_members'))
    )
    with op.batch_alter_table('auth_organisation_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_organisation_members_member_account_id'), ['member_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_organisation_members_organisation_account_id'), ['organisation_account_id'], unique=False)

    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_level', sa.String(length=1), server_default='1', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('oidc_clients', schema=None) as batch_op:
        batch_op.drop_column('min_level')

    with op.batch_alter_table('auth_organisation_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_organisation_members_organisation_account_id'))
        batch_op.drop_index(batch_op.f('ix_auth_organisation_members_member_account_id'))

    op.drop_table('auth_organisation_members')
    with op.batch_alter_table('auth_federated_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_federated_identities_account_id'))

    op.drop_table('auth_federated_identities')
    op.drop_table('auth_upstream_providers')
