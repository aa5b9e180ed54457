"""case texts per language: case_translation (fr, es, ar; English stays on case)

Revision ID: 0007_case_translations
Revises: 0006_audit_append_only
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_case_translations"
down_revision = "0006_audit_append_only"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_translation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("ask", sa.String(length=500), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("what_to_write", sa.Text(), nullable=False),
        sa.Column("authority_name", sa.String(length=200), nullable=False),
        sa.Column("solidarity_name", sa.String(length=200), nullable=False),
        sa.Column("photo_alt", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], name=op.f("fk_case_translation_case_id_case"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_translation")),
        sa.UniqueConstraint("case_id", "locale", name=op.f("uq_case_translation_case_id_locale")),
    )


def downgrade():
    op.drop_table("case_translation")
