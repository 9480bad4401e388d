"""soc: drop the event_type index that ix_audit_events_type_time (event_type, occurred_at) already covers

Every audit insert maintained both; a query on event_type alone uses the composite index's leading
column just as well.

Revision ID: 0014
Revises: 0013
"""

from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_audit_events_event_type', table_name='audit_events')


def downgrade() -> None:
    op.create_index('ix_audit_events_event_type', 'audit_events', ['event_type'], unique=False)
