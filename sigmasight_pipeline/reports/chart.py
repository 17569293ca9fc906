"""PNG chart: cumulative P&L and gross/net exposure over the report's history window, and
(when the backtest block has data) daily P&L against −VaR 99 % 1-day of both methods, the
previous session's, with exceptions marked (SPEC §6 second release).

Rendered with matplotlib's Agg canvas (no pyplot, no display), fixed size and DPI, and PNG
metadata without the "Software" entry, so the same history gives identical bytes.
"""

from __future__ import annotations

import datetime as dt
import io

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 5.5, 100
#: figure height with the third (backtest) panel
HEIGHT_BACKTEST_IN = 8.0


def render_chart(doc: dict) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    hist = doc["history"]
    dates = [dt.date.fromisoformat(h["date"]) for h in hist]
    backtest = [b for b in (doc.get("backtest") or {}).get("chart", [])]
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_BACKTEST_IN if backtest else HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    if backtest:
        ax_pnl, ax_exp, ax_var = fig.subplots(3, 1, sharex=True)
    else:
        ax_pnl, ax_exp = fig.subplots(2, 1, sharex=True)
    source = " (SIMULATED data)" if doc["data_source"]["simulated"] else ""
    fig.suptitle(f"{doc['portfolio']['name']} — last {len(hist)} trading days to "
                 f"{doc['date']}{source}", fontsize=10)
    millions = FuncFormatter(lambda x, _pos: f"{x / 1e6:,.2f}")
    if hist:
        pnl = [h["cumulative_pnl"] if h["cumulative_pnl"] is not None else float("nan")
               for h in hist]
        ax_pnl.plot(dates, pnl, color="tab:blue", linewidth=1.5, label="cumulative P&L")
        ax_pnl.axhline(0.0, color="0.6", linewidth=0.8)
        ax_exp.plot(dates, [h["gross_exposure"] for h in hist], color="tab:orange",
                    linewidth=1.5, label="gross exposure")
        ax_exp.plot(dates, [h["net_exposure"] for h in hist], color="tab:green",
                    linewidth=1.5, label="net exposure")
        ax_exp.legend(loc="upper left", fontsize=8, frameon=False)
        ax_exp.xaxis.set_major_locator(AutoDateLocator())
        ax_exp.xaxis.set_major_formatter(DateFormatter("%Y-%m-%d"))
    else:
        ax_pnl.text(0.5, 0.5, "no snapshots yet", ha="center", va="center",
                    transform=ax_pnl.transAxes)
    ax_pnl.set_ylabel("cumulative P&L (US$ m)", fontsize=9)
    ax_exp.set_ylabel("exposure (US$ m)", fontsize=9)
    for ax in (ax_pnl, ax_exp):
        ax.yaxis.set_major_formatter(millions)
        ax.grid(True, linewidth=0.4, color="0.85")
        ax.tick_params(labelsize=8)
    if backtest:
        _backtest_panel(ax_var, backtest, millions)
    fig.autofmt_xdate(rotation=30)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _backtest_panel(ax, rows: list[dict], millions) -> None:
    """Daily P&L bars against −VaR 99 % (parametric, historical); exceptions as red marks."""
    nan = float("nan")
    dates = [dt.date.fromisoformat(r["date"]) for r in rows]
    pnl = [nan if r["daily_pnl"] is None else r["daily_pnl"] for r in rows]
    ax.bar(dates, pnl, width=0.8, color="0.55", label="daily P&L")
    styles = {"parametric": ("tab:purple", "-"), "historical": ("tab:red", "--")}
    for method, (color, style) in styles.items():
        var = [nan if r[f"var_99_{method}"] is None else -r[f"var_99_{method}"] for r in rows]
        ax.plot(dates, var, color=color, linestyle=style, linewidth=1.2,
                label=f"−VaR 99 % 1-day, {method}")
        hits = [(d, p) for d, p, r in zip(dates, pnl, rows, strict=True)
                if r[f"exception_{method}"]]
        if hits:
            ax.scatter([h[0] for h in hits], [h[1] for h in hits], marker="v", s=28,
                       color=color, zorder=3, label=f"exception ({method})")
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_ylabel("daily P&L (US$ m)", fontsize=9)
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=3)
    ax.yaxis.set_major_formatter(millions)
    ax.grid(True, linewidth=0.4, color="0.85")
    ax.tick_params(labelsize=8)
