"""pki: certificate authorities, issued certificates, requests, CRLs, the trust list

Revision ID: 0011
Revises: 0010
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pki_cas',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('parent_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('cert_der', sa.LargeBinary(), nullable=False),
    sa.Column('key_name', sa.String(length=64), nullable=False),
    sa.Column('key_version', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=42).with_variant(sa.String(length=42, collation='C'), 'postgresql'), nullable=False),
    sa.Column('not_before', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('not_after', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('key_hash_sha1', sa.String(length=40), nullable=False),
    sa.Column('crl_number', sa.Integer(), nullable=False),
    sa.Column('status_epoch', sa.Integer(), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('root', 'issuing')", name=op.f('ck_pki_cas_kind')),
    sa.CheckConstraint("status IN ('active', 'retired')", name=op.f('ck_pki_cas_status')),
    sa.ForeignKeyConstraint(['parent_id'], ['pki_cas.id'], name=op.f('fk_pki_cas_parent_id_pki_cas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pki_cas')),
    sa.UniqueConstraint('name', name=op.f('uq_pki_cas_name'))
    )
    with op.batch_alter_table('pki_cas', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pki_cas_key_hash_sha1'), ['key_hash_sha1'], unique=False)

    op.create_table('pki_trusted_cas',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('fingerprint_sha256', sa.String(length=64), nullable=False),
    sa.Column('cert_der', sa.LargeBinary(), nullable=False),
    sa.Column('fetch_urls', sa.Text(), nullable=False),
    sa.Column('not_after', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('added_by', sa.String(length=36), nullable=False),
    sa.Column('added_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pki_trusted_cas')),
    sa.UniqueConstraint('fingerprint_sha256', name=op.f('uq_pki_trusted_cas_fingerprint_sha256'))
    )
    op.create_table('pki_certificates',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('ca_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('serial', sa.String(length=42).with_variant(sa.String(length=42, collation='C'), 'postgresql'), nullable=False),
    sa.Column('profile', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('subject_ref', sa.String(length=100), nullable=False),
    sa.Column('agency_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('cert_der', sa.LargeBinary(), nullable=False),
    sa.Column('not_before', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('not_after', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('revoked_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revocation_reason', sa.String(length=30), nullable=True),
    sa.Column('renewed_from_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('renewal_count', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('valid', 'suspended', 'revoked')", name=op.f('ck_pki_certificates_status')),
    sa.ForeignKeyConstraint(['ca_id'], ['pki_cas.id'], name=op.f('fk_pki_certificates_ca_id_pki_cas')),
    sa.ForeignKeyConstraint(['renewed_from_id'], ['pki_certificates.id'], name=op.f('fk_pki_certificates_renewed_from_id_pki_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pki_certificates')),
    sa.UniqueConstraint('ca_id', 'serial', name='ca_serial')
    )
    with op.batch_alter_table('pki_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pki_certificates_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index('ix_pki_certificates_subject_ref', ['subject_kind', 'subject_ref'], unique=False)

    op.create_table('pki_crls',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('ca_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('crl_number', sa.Integer(), nullable=False),
    sa.Column('this_update', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('next_update', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('crl_der', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['ca_id'], ['pki_cas.id'], name=op.f('fk_pki_crls_ca_id_pki_cas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pki_crls')),
    sa.UniqueConstraint('ca_id', 'crl_number', name='ca_number')
    )
    op.create_table('pki_requests',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('profile', sa.String(length=30), nullable=False),
    sa.Column('csr_der', sa.LargeBinary(), nullable=False),
    sa.Column('subject_ref', sa.String(length=100), nullable=False),
    sa.Column('dns_names', sa.Text(), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('agency_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.String(length=36), nullable=False),
    sa.Column('requested_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=36), nullable=True),
    sa.Column('decided_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('certificate_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'issued', 'rejected')", name=op.f('ck_pki_requests_status')),
    sa.ForeignKeyConstraint(['certificate_id'], ['pki_certificates.id'], name=op.f('fk_pki_requests_certificate_id_pki_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pki_requests'))
    )
    with op.batch_alter_table('pki_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pki_requests_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pki_requests_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pki_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pki_requests_status'))
        batch_op.drop_index(batch_op.f('ix_pki_requests_agency_id'))

    op.drop_table('pki_requests')
    op.drop_table('pki_crls')
    with op.batch_alter_table('pki_certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_pki_certificates_subject_ref')
        batch_op.drop_index(batch_op.f('ix_pki_certificates_agency_id'))

    op.drop_table('pki_certificates')
    op.drop_table('pki_trusted_cas')
    with op.batch_alter_table('pki_cas', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pki_cas_key_hash_sha1'))

    op.drop_table('pki_cas')
