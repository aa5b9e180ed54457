"""audit events are append-only: the database refuses UPDATE and DELETE

Revision ID: 0006_audit_append_only
Revises: 0005_webhooks
"""
from alembic import op

from app import audit

revision = "0006_audit_append_only"
down_revision = "0005_webhooks"
branch_labels = None
depends_on = None


def upgrade():
    statements = audit.POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else audit.SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = audit.POSTGRES_DROP if op.get_bind().dialect.name == "postgresql" else audit.SQLITE_DROP
    for statement in statements:
        op.execute(statement)
