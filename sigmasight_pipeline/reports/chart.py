"""PNG chart: cumulative P&L and gross/net exposure over the report's history window.

Rendered with matplotlib's Agg canvas (no pyplot, no display), fixed size and DPI, and PNG
metadata without the "Software" entry, so the same history gives identical bytes.
"""

from __future__ import annotations

import datetime as dt
import io

WIDTH_IN, HEIGHT_IN, DPI = 9.0, 5.5, 100


def render_chart(doc: dict) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, DateFormatter
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    hist = doc["history"]
    dates = [dt.date.fromisoformat(h["date"]) for h in hist]
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
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
    fig.autofmt_xdate(rotation=30)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
