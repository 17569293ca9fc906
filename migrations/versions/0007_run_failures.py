"""run_failures: one row per failed Dagster run, written by the run-failure sensor and shown
on the report server's index.

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 06:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('run_failures',
    sa.Column('run_id', sa.Text(), nullable=False),
    sa.Column('job_name', sa.Text(), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('partitions', sa.Text()),
    sa.Column('failed_steps', sa.Text()),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
              nullable=False),
    sa.PrimaryKeyConstraint('run_id'),
    schema='sigmasight'
    )
    op.create_index('ix_run_failures_failed_at', 'run_failures', ['failed_at'],
                    schema='sigmasight')


def downgrade() -> None:
    op.drop_index('ix_run_failures_failed_at', table_name='run_failures', schema='sigmasight')
    op.drop_table('run_failures', schema='sigmasight')
