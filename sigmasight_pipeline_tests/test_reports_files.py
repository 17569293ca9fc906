"""Report file names: slugs stay short and distinct for long portfolio names."""

from sigmasight_pipeline.reports.files import MAX_SLUG, portfolio_slug, portfolio_slugs


def test_long_names_get_short_distinct_slugs():
    a, b = "x" * 10_000 + " alpha", "x" * 10_000 + " beta"
    assert len(portfolio_slug(a)) <= MAX_SLUG and len(portfolio_slug(b)) <= MAX_SLUG
    assert portfolio_slug(a) != portfolio_slug(b)
    assert portfolio_slug("Demo Hedge Fund!") == "demo-hedge-fund"
    assert portfolio_slug("日本株") == "portfolio"
    slugs = portfolio_slugs([("11111111-aaaa", "Growth"), ("22222222-bbbb", "growth!")])
    assert len(set(slugs.values())) == 2
