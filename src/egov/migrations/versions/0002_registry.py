"""registry: agencies, citizens and their name-word index, enterprises, officers and positions

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

import egov.platform.db.base


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agencies',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('code', sa.String(length=35), nullable=False),
    sa.Column('name_vi', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=True),
    sa.Column('parent_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('successor_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('closed_on IS NULL OR closed_on >= opened_on', name=op.f('ck_agencies_closed_after_opened')),
    sa.ForeignKeyConstraint(['parent_id'], ['agencies.id'], name=op.f('fk_agencies_parent_id_agencies')),
    sa.ForeignKeyConstraint(['successor_id'], ['agencies.id'], name=op.f('fk_agencies_successor_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies')),
    sa.UniqueConstraint('code', name=op.f('uq_agencies_code'))
    )
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agencies_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agencies_successor_id'), ['successor_id'], unique=False)

    op.create_table('citizen_name_words',
    sa.Column('word_key', sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name_key', sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql'), nullable=False),
    sa.Column('citizen_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('managing_agency_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('word_key', 'name_key', 'citizen_id', 'managing_agency_id', name=op.f('pk_citizen_name_words'))
    )
    op.create_table('citizens',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('personal_id', sa.String(length=12), nullable=False),
    sa.Column('full_name', sa.String(length=100), nullable=False),
    sa.Column('name_key', sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql'), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.String(length=6), nullable=False),
    sa.Column('phone', sa.String(length=10), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('guardian_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('managing_agency_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("sex IN ('male', 'female')", name=op.f('ck_citizens_sex')),
    sa.ForeignKeyConstraint(['guardian_id'], ['citizens.id'], name=op.f('fk_citizens_guardian_id_citizens')),
    sa.ForeignKeyConstraint(['managing_agency_id'], ['agencies.id'], name=op.f('fk_citizens_managing_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizens')),
    sa.UniqueConstraint('personal_id', name=op.f('uq_citizens_personal_id'))
    )
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.create_index('ix_citizens_guardian_id', ['guardian_id'], unique=False, postgresql_where=sa.text('guardian_id IS NOT NULL'), sqlite_where=sa.text('guardian_id IS NOT NULL'))
        batch_op.create_index('ix_citizens_managing_agency_id_name_key_id', ['managing_agency_id', 'name_key', 'id'], unique=False)
        batch_op.create_index('ix_citizens_name_key_id_managing_agency_id', ['name_key', 'id', 'managing_agency_id'], unique=False)

    op.create_table('enterprises',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('tax_code', sa.String(length=14), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=True),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('parent_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=True),
    sa.Column('legal_representative_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('managing_agency_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended', 'dissolved')", name=op.f('ck_enterprises_status')),
    sa.ForeignKeyConstraint(['legal_representative_id'], ['citizens.id'], name=op.f('fk_enterprises_legal_representative_id_citizens')),
    sa.ForeignKeyConstraint(['managing_agency_id'], ['agencies.id'], name=op.f('fk_enterprises_managing_agency_id_agencies')),
    sa.ForeignKeyConstraint(['parent_id'], ['enterprises.id'], name=op.f('fk_enterprises_parent_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprises')),
    sa.UniqueConstraint('tax_code', name=op.f('uq_enterprises_tax_code'))
    )
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprises_legal_representative_id'), ['legal_representative_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprises_managing_agency_id'), ['managing_agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_enterprises_parent_id'), ['parent_id'], unique=False)

    op.create_table('officers',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('citizen_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizens.id'], name=op.f('fk_officers_citizen_id_citizens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officers')),
    sa.UniqueConstraint('citizen_id', name=op.f('uq_officers_citizen_id'))
    )
    op.create_table('officer_positions',
    sa.Column('id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('officer_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('agency_id', sa.String(length=36).with_variant(sa.String(length=36, collation='C'), 'postgresql'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('created_at', egov.platform.db.base.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_officer_positions_ends_after_starts')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_officer_positions_agency_id_agencies')),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_officer_positions_officer_id_officers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_positions'))
    )
    with op.batch_alter_table('officer_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_positions_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_officer_positions_officer_id'), ['officer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('officer_positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_positions_officer_id'))
        batch_op.drop_index(batch_op.f('ix_officer_positions_agency_id'))

    op.drop_table('officer_positions')
    op.drop_table('officers')
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enterprises_parent_id'))
        batch_op.drop_index(batch_op.f('ix_enterprises_managing_agency_id'))
        batch_op.drop_index(batch_op.f('ix_enterprises_legal_representative_id'))

    op.drop_table('enterprises')
    with op.batch_alter_table('citizens', schema=None) as batch_op:
        batch_op.drop_index('ix_citizens_name_key_id_managing_agency_id')
        batch_op.drop_index('ix_citizens_managing_agency_id_name_key_id')
        batch_op.drop_index('ix_citizens_guardian_id', postgresql_where=sa.text('guardian_id IS NOT NULL'), sqlite_where=sa.text('guardian_id IS NOT NULL'))

    op.drop_table('citizens')
    op.drop_table('citizen_name_words')
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agencies_successor_id'))
        batch_op.drop_index(batch_op.f('ix_agencies_parent_id'))

    op.drop_table('agencies')
