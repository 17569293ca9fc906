"""Portfolio risk II: var_backtests, pnl_attribution, portfolio_performance,
portfolio_volatility (SPEC §7.6-7.8).

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-02 06:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = 'sigmasight'


def _flags() -> sa.Column:
    return sa.Column('flags', postgresql.ARRAY(sa.Text()), nullable=False,
                     server_default=sa.text("'{}'::text[]"))


def upgrade() -> None:
    op.create_table('var_backtests',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('pnl_type', sa.Text(), nullable=False),
    sa.Column('observations', sa.Integer(), nullable=False),
    sa.Column('exceptions', sa.Integer(), nullable=False),
    sa.Column('expected_exceptions', sa.Float(), nullable=True),
    sa.Column('kupiec_lr', sa.Float(), nullable=True),
    sa.Column('kupiec_p', sa.Float(), nullable=True),
    sa.Column('christoffersen_lr', sa.Float(), nullable=True),
    sa.Column('christoffersen_p', sa.Float(), nullable=True),
    sa.Column('cc_lr', sa.Float(), nullable=True),
    sa.Column('cc_p', sa.Float(), nullable=True),
    sa.Column('zone', sa.Text(), nullable=True),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    _flags(),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'method', 'confidence', 'pnl_type'),
    schema=SCHEMA
    )
    op.create_table('pnl_attribution',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('component', sa.Text(), nullable=False),
    sa.Column('pnl', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'component'),
    schema=SCHEMA
    )
    op.create_table('portfolio_performance',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('period', sa.Text(), nullable=False),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    *(sa.Column(c, sa.Float(), nullable=True) for c in (
        'annualized_return', 'annualized_vol', 'sharpe', 'sortino', 'max_drawdown')),
    sa.Column('drawdown_peak_date', sa.Date(), nullable=True),
    sa.Column('drawdown_trough_date', sa.Date(), nullable=True),
    *(sa.Column(c, sa.Float(), nullable=True) for c in (
        'calmar', 'best_day', 'worst_day', 'hit_ratio', 'beta_spy', 'correlation_spy',
        'tracking_error', 'information_ratio')),
    _flags(),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'period'),
    schema=SCHEMA
    )
    op.create_table('portfolio_volatility',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    *(sa.Column(c, sa.Float(), nullable=True) for c in (
        'realized_21d', 'realized_63d', 'ewma_vol', 'har_forecast',
        'realized_21d_percentile')),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    _flags(),
    sa.PrimaryKeyConstraint('date', 'portfolio_id'),
    schema=SCHEMA
    )


def downgrade() -> None:
    for table in ('portfolio_volatility', 'portfolio_performance', 'pnl_attribution',
                  'var_backtests'):
        op.drop_table(table, schema=SCHEMA)
