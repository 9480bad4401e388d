"""auth: identity proofing (levels, proofing records, one-time codes to the contact on record)

Revision ID: 0008
Revises: 0007
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('auth_otp_challenges',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('destination_masked', sa.String(length=260), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_otp_challenges'))
    )
    with op.batch_alter_table('auth_otp_challenges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_otp_challenges_subject'), ['subject'], unique=False)

    op.create_table('auth_identity_proofings',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('account_id', sa.String(length=36), nullable=False),
    sa.Column('level', sa.String(length=1), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('evidence_type', sa.String(length=32), nullable=True),
    sa.Column('evidence_ref', sa.String(length=64), nullable=True),
    sa.Column('verified_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['auth_accounts.id'], name=op.f('fk_auth_identity_proofings_account_id_auth_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_identity_proofings'))
    )
    with op.batch_alter_table('auth_identity_proofings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_identity_proofings_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('auth_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assurance_level', sa.String(length=1), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('auth_accounts', schema=None) as batch_op:
        batch_op.drop_column('assurance_level')

    with op.batch_alter_table('auth_identity_proofings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_identity_proofings_account_id'))

    op.drop_table('auth_identity_proofings')
    with op.batch_alter_table('auth_otp_challenges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_otp_challenges_subject'))

    op.drop_table('auth_otp_challenges')
