"""PNG chart: cumulative P&L and gross/net exposure over the report's history window, and
(when the report has a backtest) daily P&L bars against −VaR 99 % 1-day of both methods,
the previous session's, with exceptions marked (SPEC §6, second release).

Drawn directly with Pillow (lines, text with the DejaVu Sans font matplotlib ships) on a
2× canvas reduced to the final size (antialiased lines), not with matplotlib: a matplotlib
figure costs 0.15-0.5 s of CPU per chart (tick and text layout in Python), which made the
charts 80 % of a day's reports (2,000 portfolios: 10 minutes); this costs ~10 ms. The
output is a pure function of the document (fixed size, fonts, palette, no metadata, zlib
level and palette fixed), so the same history gives identical bytes in any process and re-run.

What is drawn is a list of :class:`Panel` (:func:`panels`): each has its series (lines,
gaps where a value is missing), optional bands (a filled area between two series) and
horizontal reference lines; a new series or band is an entry there, not drawing code.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

WIDTH_PX, HEIGHT_PX = 900, 550
#: extra height for each panel beyond the first two (the backtest panel)
PANEL_EXTRA_PX = 250
#: drawing scale: lines and text are drawn at 2× and reduced (box filter) for antialiasing
SCALE = 2
#: PNG at zlib level 1 (a third of the RGB level-6 encode time, ~25 kB a chart), in a fixed
#: palette (:func:`_palette`: each colour below blended with white in
#: :data:`PALETTE_BLENDS` steps, the antialiased edges of lines and text on white)
PNG_COMPRESS_LEVEL = 1
PALETTE_BLENDS = 16

BLUE, ORANGE, GREEN = (31, 119, 180), (255, 127, 14), (44, 160, 44)
PURPLE, RED, GREY = (148, 103, 189), (214, 39, 40), (140, 140, 140)
WHITE, BLACK, GRID, REF, TEXT = (255, 255, 255), (0, 0, 0), (217, 217, 217), (153, 153, 153), \
    (38, 38, 38)

#: the colours anything is drawn in (:func:`_palette` is built from them)
PALETTE_BASE = (BLACK, TEXT, GRID, REF, BLUE, ORANGE, GREEN, PURPLE, RED, GREY)

#: half-range (US$) of a panel whose values are all equal
FLAT_RANGE = 50_000.0

# layout in final pixels
LEFT, RIGHT, TOP, BOTTOM, GAP = 90, 20, 40, 55, 18


@dataclass(frozen=True)
class Series:
    label: str
    color: tuple[int, int, int]
    values: list[float | None]
    width: float = 1.5


@dataclass(frozen=True)
class Band:
    """A filled area between ``lower`` and ``upper`` (missing values leave a gap)."""
    label: str
    color: tuple[int, int, int]
    lower: list[float | None]
    upper: list[float | None]


@dataclass
class Panel:
    ylabel: str
    series: list[Series] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    hlines: list[float] = field(default_factory=list)
    legend: bool = False
    #: vertical bars from 0 to each value (daily P&L)
    bars: list[Series] = field(default_factory=list)
    #: downward triangles at each value that is not None (backtest exceptions)
    markers: list[Series] = field(default_factory=list)


def _value(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def panels(doc: dict) -> list[Panel]:
    """What the chart shows, top to bottom (values in US$; drawn in US$ m)."""
    hist = doc["history"]
    col = lambda name: [_value(h.get(name)) for h in hist]  # noqa: E731
    out = [
        Panel("cumulative P&L (US$ m)", [Series("cumulative P&L", BLUE, col("cumulative_pnl"))],
              hlines=[0.0]),
        Panel("exposure (US$ m)", [Series("gross exposure", ORANGE, col("gross_exposure")),
                                   Series("net exposure", GREEN, col("net_exposure"))],
              legend=True),
    ]
    backtest = backtest_panel(doc)
    return out if backtest is None else [*out, backtest]


def backtest_panel(doc: dict) -> Panel | None:
    """Daily P&L against −VaR 99 % 1-day (the previous session's) of both methods, on the
    history window's dates; exceptions (−P&L > VaR) marked. None without backtest rows."""
    rows = {r["date"]: r for r in (doc.get("backtest") or {}).get("chart") or []}
    if not rows:
        return None
    on_day = [rows.get(h["date"]) for h in doc["history"]]
    pnl = [None if r is None else _value(r["daily_pnl"]) for r in on_day]
    panel = Panel("daily P&L vs −VaR 99 % (US$ m)", bars=[Series("daily P&L", GREY, pnl)],
                  hlines=[0.0], legend=True)
    for method, color in (("parametric", PURPLE), ("historical", RED)):
        var = [None if r is None or r[f"var_99_{method}"] is None else -float(
            r[f"var_99_{method}"]) for r in on_day]
        hits = [p if r is not None and r[f"exception_{method}"] else None
                for p, r in zip(pnl, on_day, strict=True)]
        panel.series.append(Series(f"−VaR 99 % 1-day, {method}", color, var, width=1.2))
        if any(h is not None for h in hits):
            panel.markers.append(Series(f"exception ({method})", color, hits))
    return panel


def title(doc: dict) -> str:
    source = " (SIMULATED data)" if doc["data_source"]["simulated"] else ""
    return (f"{doc['portfolio']['name']} — last {len(doc['history'])} trading days to "
            f"{doc['date']}{source}")


# --- ticks -------------------------------------------------------------------------------

def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 × 10^k) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(target - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    return [round(i * step, 10) + 0.0 for i in range(first, last + 1)]


def date_ticks(first: dt.date, last: dt.date, most: int = 7) -> list[dt.date]:
    """Evenly spaced dates in [first, last]: every k days, or month starts every m months."""
    span = (last - first).days
    for k in (1, 2, 7, 14):
        if span // k + 1 <= most:
            start = first.toordinal() + (-first.toordinal()) % k
            return [dt.date.fromordinal(o) for o in range(start, last.toordinal() + 1, k)]
    for m in (1, 2, 3, 6, 12, 24, 60):
        months = [dt.date(y, mo, 1) for y in range(first.year, last.year + 1)
                  for mo in range(1, 13) if (mo - 1) % m == 0 or m > 12]
        months = [d for d in months if first <= d <= last
                  and (m <= 12 or (d.month == 1 and d.year % (m // 12) == 0))]
        if len(months) <= most:
            return months
    return [first, last]


def _decimals(ticks: list[float]) -> int:
    """Decimals of US$ m labels: 2, or as many as the tick step needs (0.025 → 3)."""
    step = abs(ticks[1] - ticks[0]) / 1e6 if len(ticks) > 1 else 1.0
    dp = 2
    while dp < 6 and abs(round(step, dp) - step) > 1e-12:
        dp += 1
    return dp


def _millions(x: float, dp: int = 2) -> str:
    text = f"{x / 1e6:,.{dp}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


# --- drawing -----------------------------------------------------------------------------

@cache
def _font(size_pt: float):
    """DejaVu Sans at ``size_pt`` points on the 100-dpi output (text is drawn after the
    reduction, at 1×: FreeType antialiases it, and a quarter of the pixels is a third of the
    2× text time)."""
    from importlib.util import find_spec

    from PIL import ImageFont

    # matplotlib's data directory (what matplotlib.get_data_path() gives), found without
    # importing matplotlib: its import was a fifth of a worker process's start-up
    package = Path(find_spec("matplotlib").origin).parent
    return ImageFont.truetype(str(package / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"),
                              round(size_pt * 100 / 72))


@lru_cache(maxsize=64)
def _vertical_label(text: str, size_pt: float):
    """A text image rotated 90° (the y-axis labels: the same few strings every chart)."""
    from PIL import Image, ImageDraw

    font = _font(size_pt)
    box = font.getbbox(text)
    img = Image.new("L", (box[2] + 2, box[3] + 2), 0)
    ImageDraw.Draw(img).text((0, 0), text, font=font, fill=255)
    return img.rotate(90, expand=True)


@cache
def _palette():
    """A "P" image holding the fixed PNG palette: white, then every colour of
    :data:`PALETTE_BASE` and its blends with white (band tints included). Quantizing to a
    fixed palette is 4× faster than an adaptive octree and gives the same colours on every
    chart."""
    from PIL import Image

    colors = [WHITE]
    for c in PALETTE_BASE:
        for k in range(PALETTE_BLENDS):
            t = k / PALETTE_BLENDS
            blend = tuple(round(v + (255 - v) * t) for v in c)
            if blend not in colors:
                colors.append(blend)
    assert len(colors) <= 256, len(colors)
    pal = Image.new("P", (1, 1))
    pal.putpalette([v for c in colors for v in c] + [0, 0, 0] * (256 - len(colors)))
    return pal


@lru_cache(maxsize=4096)
def _text_mask(text: str, size_pt: float, anchor: str):
    """``text`` rendered once as an "L" mask, and its offset from the anchor point: tick
    labels, dates and legends repeat across a day's charts (a FreeType render each was a
    fifth of a chart's time)."""
    from PIL import Image, ImageDraw

    font = _font(size_pt)
    left, top, right, bottom = font.getbbox(text, anchor=anchor)
    mask = Image.new("L", (max(right - left, 1), max(bottom - top, 1)), 0)
    ImageDraw.Draw(mask).text((-left, -top), text, font=font, fill=255, anchor=anchor)
    return mask, (left, top)


def _text(texts: list, xy, text, size_pt, anchor="la", fill=TEXT):
    """Queue ``text`` at ``xy`` (2× canvas coordinates): drawn on the reduced image."""
    texts.append((xy, text, size_pt, anchor, fill))


def _segments(xs: list[float], ys: list[float | None]) -> list[list[tuple[float, float]]]:
    """Runs of consecutive points with a value (a missing value breaks the line)."""
    out, run = [], []
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if run:
                out.append(run)
            run = []
        else:
            run.append((x, y))
    if run:
        out.append(run)
    return out


def render_chart(doc: dict) -> bytes:
    """The chart of ``doc["history"]`` as PNG bytes (900 × 550 px; 800 px high with the
    backtest panel)."""
    from PIL import Image, ImageDraw

    s = SCALE
    spec = panels(doc)
    height_px = HEIGHT_PX + PANEL_EXTRA_PX * max(len(spec) - 2, 0)
    W, H = WIDTH_PX * s, height_px * s
    img = Image.new("RGB", (W, H), WHITE)
    draw = ImageDraw.Draw(img)
    texts: list = []  # (xy on this canvas, text, size, anchor, colour), drawn at 1×
    labels: list = []  # (y-axis label image, its position at 1×)
    _text(texts, (W // 2, 12 * s), title(doc), 10, anchor="mt", fill=BLACK)

    hist = doc["history"]
    dates = [dt.date.fromisoformat(h["date"]) for h in hist]
    x0, x1 = LEFT * s, (WIDTH_PX - RIGHT) * s
    height = (height_px - TOP - BOTTOM - GAP * (len(spec) - 1)) / len(spec)
    if dates:
        d_lo, d_hi = dates[0].toordinal(), dates[-1].toordinal()
        if d_hi == d_lo:
            d_lo, d_hi = d_lo - 1, d_hi + 1
        pad = (d_hi - d_lo) * 0.05
        d_lo, d_hi = d_lo - pad, d_hi + pad
        xmap = lambda o: x0 + (o - d_lo) / (d_hi - d_lo) * (x1 - x0)  # noqa: E731
        xs = [xmap(d.toordinal()) for d in dates]
        xticks = [(xmap(d.toordinal()), d) for d in date_ticks(dates[0], dates[-1])]
    for i, panel in enumerate(spec):
        top = (TOP + i * (height + GAP)) * s
        bottom = top + height * s
        if dates:
            values = [v for sr in (*panel.series, *panel.bars, *panel.markers)
                      for v in sr.values if v is not None]
            values += [v for b in panel.bands for v in (*b.lower, *b.upper) if v is not None]
            values += panel.hlines
            lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
            if hi == lo:  # one value: a range that still has readable US$ m ticks
                lo, hi = lo - max(abs(lo) * 0.05, FLAT_RANGE), hi + max(abs(hi) * 0.05, FLAT_RANGE)
            pad = (hi - lo) * 0.05
            lo, hi = lo - pad, hi + pad
            ymap = lambda v, lo=lo, hi=hi, top=top, bottom=bottom: (  # noqa: E731
                bottom - (v - lo) / (hi - lo) * (bottom - top))
            for x, _ in xticks:
                draw.line([(x, top), (x, bottom)], fill=GRID, width=max(1, s // 2))
            yticks = nice_ticks(lo, hi)
            dp = _decimals(yticks)
            for v in yticks:
                y = ymap(v)
                draw.line([(x0, y), (x1, y)], fill=GRID, width=max(1, s // 2))
                draw.line([(x0 - 4 * s, y), (x0, y)], fill=BLACK, width=s)
                _text(texts, (x0 - 6 * s, y), _millions(v, dp), 8, anchor="rm")
            for band in panel.bands:
                for run in _segments(xs, [None if a is None or b is None else (a, b)
                                          for a, b in zip(band.lower, band.upper,
                                                          strict=True)]):
                    poly = [(x, ymap(b)) for x, (_, b) in run] + \
                           [(x, ymap(a)) for x, (a, _) in reversed(run)]
                    if len(poly) >= 3:
                        tint = tuple(int(c + (255 - c) * 0.7) for c in band.color)
                        draw.polygon(poly, fill=tint)
            for ref in panel.hlines:
                draw.line([(x0, ymap(ref)), (x1, ymap(ref))], fill=REF, width=max(1, int(0.8 * s)))
            steps = [b - a for a, b in zip(xs, xs[1:], strict=False)]  # (n − 1) day spacings
            bar_half = max(0.4 * min(steps, default=8 * s), s / 2)
            for sr in panel.bars:
                for x, v in zip(xs, sr.values, strict=True):
                    if v is not None:
                        y_a, y_b = sorted((ymap(0.0), ymap(v)))
                        # clipped to the frame (the first and last bars of a short window)
                        draw.rectangle([max(x - bar_half, x0), y_a, min(x + bar_half, x1), y_b],
                                       fill=sr.color)
            for sr in panel.series:
                for run in _segments(xs, sr.values):
                    pts = [(x, ymap(v)) for x, v in run]
                    if len(pts) == 1:  # a lone value (one day, or between gaps): a dot
                        (x, y), r = pts[0], 2.5 * s
                        draw.ellipse([x - r, y - r, x + r, y + r], fill=sr.color)
                        continue
                    draw.line(pts, fill=sr.color, width=round(sr.width * s), joint="curve")
            for sr in panel.markers:
                for x, v in zip(xs, sr.values, strict=True):
                    if v is not None:
                        y, r = ymap(v), 4 * s
                        draw.polygon([(x - r, y - r), (x + r, y - r), (x, y + r)], fill=sr.color)
            if panel.legend:
                ly = top + 8 * s
                for entry in [*panel.bars, *panel.series, *panel.bands, *panel.markers]:
                    draw.line([(x0 + 8 * s, ly), (x0 + 28 * s, ly)], fill=entry.color,
                              width=round(1.5 * s))
                    _text(texts, (x0 + 34 * s, ly), entry.label, 8, anchor="lm")
                    ly += 14 * s
        elif i == 0:
            _text(texts, ((x0 + x1) / 2, (top + bottom) / 2), "no snapshots yet", 10,
                  anchor="mm")
        draw.rectangle([x0, top, x1, bottom], outline=BLACK, width=max(1, int(0.8 * s)))
        label = _vertical_label(panel.ylabel, 9)
        labels.append((label, (12, int((top + bottom) / 2 / s - label.height / 2))))
    if dates:
        bottom = (TOP + len(spec) * height + GAP * (len(spec) - 1)) * s
        for x, d in xticks:
            draw.line([(x, bottom), (x, bottom + 4 * s)], fill=BLACK, width=s)
            _text(texts, (x, bottom + 7 * s), d.isoformat(), 8, anchor="mt")
    out = img.reduce(s) if s > 1 else img
    for (x, y), text, size_pt, anchor, fill in texts:
        mask, (dx, dy) = _text_mask(text, size_pt, anchor)
        out.paste(fill, (round(x / s) + dx, round(y / s) + dy), mask)
    for label, xy in labels:
        out.paste(TEXT, xy, label)
    out = out.quantize(palette=_palette(), dither=Image.Dither.NONE)
    buf = io.BytesIO()
    out.save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buf.getvalue()
