"""auth: one-time certificate sign-in challenges kept beside the other one-time OAuth handles

Revision ID: 0013
Revises: 0012
"""

from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('oidc_authorizations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_oidc_authorizations_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_oidc_authorizations_kind'),
                                         "kind IN ('par', 'code', 'jti', 'dpop', 'chal')")


def downgrade() -> None:
    op.execute("DELETE FROM oidc_authorizations WHERE kind = 'chal'")
    with op.batch_alter_table('oidc_authorizations', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_oidc_authorizations_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_oidc_authorizations_kind'), "kind IN ('par', 'code', 'jti', 'dpop')")
