"""signing: identities, signatures, B-LTA archives, remote approvals

Revision ID: 0012
Revises: 0011
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('signing_identities',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('holder', sa.String(length=80), nullable=False),
    sa.Column('key_name', sa.String(length=64), nullable=False),
    sa.Column('certificate_der', sa.LargeBinary(), nullable=False),
    sa.Column('chain_der', sa.Text(), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=False),
    sa.Column('position', sa.String(length=300), nullable=False),
    sa.Column('agency_name', sa.String(length=300), nullable=False),
    sa.Column('not_after', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_identities'))
    )
    with op.batch_alter_table('signing_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_identities_holder'), ['holder'], unique=False)

    op.create_table('signing_remote_approvals',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('document_kind', sa.String(length=10), nullable=False),
    sa.Column('document_name', sa.String(length=300), nullable=False),
    sa.Column('document', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('approved_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('approved_with', sa.String(length=20), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('consumed_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['identity_id'], ['signing_identities.id'], name=op.f('fk_signing_remote_approvals_identity_id_signing_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_remote_approvals'))
    )
    with op.batch_alter_table('signing_remote_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_remote_approvals_account_id'), ['account_id'], unique=False)

    op.create_table('signing_signatures',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=True),
    sa.Column('identity_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('document_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_sha256', sa.String(length=64), nullable=False),
    sa.Column('approval_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['identity_id'], ['signing_identities.id'], name=op.f('fk_signing_signatures_identity_id_signing_identities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_signatures'))
    )
    with op.batch_alter_table('signing_signatures', schema=None) as batch_op:
        batch_op.create_index('ix_signing_signatures_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signing_signatures_document_sha256'), ['document_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_signing_signatures_identity_id'), ['identity_id'], unique=False)

    op.create_table('signing_archives',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('signature_id', sa.String(length=36), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('last_timestamp_expires_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('renew_after', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('renewed_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['signature_id'], ['signing_signatures.id'], name=op.f('fk_signing_archives_signature_id_signing_signatures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_archives'))
    )
    with op.batch_alter_table('signing_archives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_archives_renew_after'), ['renew_after'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('signing_archives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_archives_renew_after'))

    op.drop_table('signing_archives')
    with op.batch_alter_table('signing_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_signatures_identity_id'))
        batch_op.drop_index(batch_op.f('ix_signing_signatures_document_sha256'))
        batch_op.drop_index('ix_signing_signatures_account_created')

    op.drop_table('signing_signatures')
    with op.batch_alter_table('signing_remote_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_remote_approvals_account_id'))

    op.drop_table('signing_remote_approvals')
    with op.batch_alter_table('signing_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_identities_holder'))

    op.drop_table('signing_identities')
