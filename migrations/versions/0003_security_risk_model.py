"""Portfolio risk I (SPEC §7.1-7.5): the security-level risk model (security_factor_exposures,
security_rate_betas, security_specific_risk), risk_factor_covariance, portfolio_var and the
Euler contributions; position_factor_exposures / position_interest_rate_betas become views
over the security tables (same columns as the tables they replace).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 06:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | Sequence[str] | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: a position's beta symbol: an option's underlying, otherwise its own symbol
#: (the same rule as defs/risk/inputs.py beta_symbols and engines/activity.py is_option)
_BETA_SYMBOL = ("CASE WHEN upper(btrim(p.position_type)) IN ('LC', 'LP', 'SC', 'SP') "
                "THEN p.underlying_symbol ELSE p.symbol END")

_POSITION_FACTOR_VIEW = f"""
CREATE VIEW sigmasight.position_factor_exposures AS
SELECT v.date, v.position_id, s.factor, s.beta, s.std_err, s.t_stat, s.r_squared, s.n_obs,
       s.quality
  FROM sigmasight.position_values v
  JOIN sigmasight.positions p ON p.id = v.position_id
  JOIN sigmasight.security_factor_exposures s
    ON s.date = v.date AND s.symbol = {_BETA_SYMBOL}
"""

_POSITION_RATE_VIEW = f"""
CREATE VIEW sigmasight.position_interest_rate_betas AS
SELECT v.date, v.position_id, s.ir_beta, s.std_err, s.r_squared, s.n_obs, s.quality
  FROM sigmasight.position_values v
  JOIN sigmasight.positions p ON p.id = v.position_id
  JOIN sigmasight.security_rate_betas s
    ON s.date = v.date AND s.symbol = {_BETA_SYMBOL}
"""


def _flags() -> sa.Column:
    return sa.Column('flags', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'::text[]"),
                     nullable=False)


def upgrade() -> None:
    op.create_table('security_factor_exposures',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('factor', sa.Text(), nullable=False),
    sa.Column('beta', sa.Float(), nullable=True),
    sa.Column('std_err', sa.Float(), nullable=True),
    sa.Column('t_stat', sa.Float(), nullable=True),
    sa.Column('r_squared', sa.Float(), nullable=True),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'symbol', 'factor'),
    schema='sigmasight'
    )
    op.create_table('security_rate_betas',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('ir_beta', sa.Float(), nullable=True),
    sa.Column('std_err', sa.Float(), nullable=True),
    sa.Column('r_squared', sa.Float(), nullable=True),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'symbol'),
    schema='sigmasight'
    )
    op.create_table('security_specific_risk',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('specific_vol', sa.Float(), nullable=True),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'symbol'),
    schema='sigmasight'
    )
    op.create_table('risk_factor_covariance',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('factor_a', sa.Text(), nullable=False),
    sa.Column('factor_b', sa.Text(), nullable=False),
    sa.Column('covariance', sa.Float(), nullable=False),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'factor_a', 'factor_b'),
    schema='sigmasight'
    )
    op.create_table('portfolio_var',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('var', sa.Float(), nullable=True),
    sa.Column('es', sa.Float(), nullable=True),
    sa.Column('var_pct_gross', sa.Float(), nullable=True),
    sa.Column('es_pct_gross', sa.Float(), nullable=True),
    sa.Column('volatility', sa.Float(), nullable=True),
    sa.Column('n_scenarios', sa.Integer(), nullable=True),
    _flags(),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'method', 'confidence', 'horizon_days'),
    schema='sigmasight'
    )
    op.create_table('factor_risk_contributions',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('factor', sa.Text(), nullable=False),
    sa.Column('exposure', sa.Float(), nullable=True),
    sa.Column('contribution', sa.Float(), nullable=False),
    sa.Column('pct_of_risk', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'factor'),
    schema='sigmasight'
    )
    op.create_table('position_risk_contributions',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('portfolio_id', sa.UUID(), nullable=False),
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('symbol', sa.Text(), nullable=False),
    sa.Column('exposure', sa.Float(), nullable=False),
    sa.Column('marginal_vol', sa.Float(), nullable=True),
    sa.Column('component_vol', sa.Float(), nullable=True),
    sa.Column('pct_of_risk', sa.Float(), nullable=True),
    sa.Column('component_es_hist', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('date', 'portfolio_id', 'position_id'),
    schema='sigmasight'
    )
    # per-position betas are recomputed from the security tables (a backfill re-runs them)
    op.drop_table('position_interest_rate_betas', schema='sigmasight')
    op.drop_table('position_factor_exposures', schema='sigmasight')
    op.execute(_POSITION_FACTOR_VIEW)
    op.execute(_POSITION_RATE_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW sigmasight.position_interest_rate_betas")
    op.execute("DROP VIEW sigmasight.position_factor_exposures")
    op.create_table('position_factor_exposures',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('factor', sa.Text(), nullable=False),
    sa.Column('beta', sa.Float(), nullable=True),
    sa.Column('std_err', sa.Float(), nullable=True),
    sa.Column('t_stat', sa.Float(), nullable=True),
    sa.Column('r_squared', sa.Float(), nullable=True),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'position_id', 'factor'),
    schema='sigmasight'
    )
    op.create_table('position_interest_rate_betas',
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('position_id', sa.UUID(), nullable=False),
    sa.Column('ir_beta', sa.Float(), nullable=True),
    sa.Column('std_err', sa.Float(), nullable=True),
    sa.Column('r_squared', sa.Float(), nullable=True),
    sa.Column('n_obs', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('date', 'position_id'),
    schema='sigmasight'
    )
    for name in ('position_risk_contributions', 'factor_risk_contributions', 'portfolio_var',
                 'risk_factor_covariance', 'security_specific_risk', 'security_rate_betas',
                 'security_factor_exposures'):
        op.drop_table(name, schema='sigmasight')
