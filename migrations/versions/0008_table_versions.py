"""table_versions: a new random version for every statement that changes portfolios or
positions (statement-level triggers), so a process that holds a copy of the book checks one
row before using it instead of reading the book again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:40:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("portfolios", "positions")


def upgrade() -> None:
    op.create_table('table_versions',
    sa.Column('table_name', sa.Text(), nullable=False),
    sa.Column('version', postgresql.UUID(as_uuid=False), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.PrimaryKeyConstraint('table_name'),
    schema='sigmasight'
    )
    # AFTER ... FOR EACH STATEMENT: once per statement (a 100,000-row COPY bumps it once),
    # in the changing transaction (a rolled-back change leaves the old version)
    op.execute("""
        CREATE FUNCTION sigmasight.bump_table_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO sigmasight.table_versions (table_name, version, changed_at)
            VALUES (TG_TABLE_NAME, gen_random_uuid(), now())
            ON CONFLICT (table_name) DO UPDATE
                SET version = EXCLUDED.version, changed_at = EXCLUDED.changed_at;
            RETURN NULL;
        END $$""")
    for table in TABLES:
        op.execute(f"""
            CREATE TRIGGER {table}_version
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sigmasight.{table}
            FOR EACH STATEMENT EXECUTE FUNCTION sigmasight.bump_table_version()""")
        op.execute(f"INSERT INTO sigmasight.table_versions (table_name, version) "
                   f"VALUES ('{table}', gen_random_uuid())")


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_version ON sigmasight.{table}")
    op.execute("DROP FUNCTION sigmasight.bump_table_version()")
    op.drop_table('table_versions', schema='sigmasight')
