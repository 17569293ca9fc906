"""The files provider: SPEC §3's CSV directory, validated whole before anything is returned."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sigmasight_pipeline.providers.base import (
    OPTION_QUOTE_COLUMNS,
    PRICE_COLUMNS,
    SECURITY_COLUMNS,
    TREASURY_SERIES,
    YIELD_COLUMNS,
    MarketDataProvider,
    ProviderDataError,
)
from sigmasight_pipeline.providers.files import FilesProvider
from sigmasight_pipeline.providers.simulated import SimulatedProvider

START, END = dt.date(2024, 6, 3), dt.date(2024, 6, 7)
SYMBOLS = ["AAPL", "JNJ", "SPY", "VIX"]
CONTRACTS = pd.DataFrame({
    "symbol": ["AAPL250815P00200000", "SPY250919C00460000"],
    "underlying": ["AAPL", "SPY"],
    "strike": [200.0, 460.0],
    "expiration": [dt.date(2025, 8, 15), dt.date(2025, 9, 19)],
    "option_type": ["P", "C"],
})


def _without_source(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without ``source``, in a canonical row order."""
    keys = [c for c in ("date", "symbol", "series_id") if c in frame.columns]
    return frame.drop(columns="source").sort_values(keys, ignore_index=True)


@pytest.fixture(scope="module")
def simulated() -> SimulatedProvider:
    return SimulatedProvider(seed=7)


@pytest.fixture
def market_dir(tmp_path, simulated) -> Path:
    """A good directory, written from the simulated market."""
    simulated.prices(SYMBOLS, START, END).drop(columns="source").to_csv(
        tmp_path / "prices.csv", index=False)
    simulated.treasury_yields(TREASURY_SERIES, START, END).drop(columns="source").to_csv(
        tmp_path / "treasury_yields.csv", index=False)
    quotes = pd.concat([simulated.option_quotes(CONTRACTS, d)
                        for d in pd.bdate_range(START, END).date])
    quotes.drop(columns="source").to_csv(tmp_path / "option_quotes.csv", index=False)
    simulated.securities(SYMBOLS).drop(columns="source").to_csv(
        tmp_path / "securities.csv", index=False)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


# --- round trip ----------------------------------------------------------------------------


def test_a_good_directory_round_trips(market_dir, simulated):
    files = FilesProvider(market_dir)
    assert isinstance(files, MarketDataProvider)
    assert files.source == "files"

    prices = files.prices(SYMBOLS, START, END)
    assert list(prices.columns) == PRICE_COLUMNS
    assert set(prices["source"]) == {"files"}
    assert all(type(d) is dt.date for d in prices["date"])
    expected = simulated.prices(SYMBOLS, START, END)
    pd.testing.assert_frame_equal(
        _without_source(prices).astype({"volume": np.int64}), _without_source(expected),
        check_dtype=False,
    )
    assert prices["close"].dtype == np.float64

    yields = files.treasury_yields(TREASURY_SERIES, START, END)
    assert list(yields.columns) == YIELD_COLUMNS
    pd.testing.assert_frame_equal(
        _without_source(yields),
        _without_source(simulated.treasury_yields(TREASURY_SERIES, START, END)),
        check_dtype=False,
    )

    day = dt.date(2024, 6, 5)
    quotes = files.option_quotes(CONTRACTS, day)
    assert list(quotes.columns) == OPTION_QUOTE_COLUMNS
    pd.testing.assert_frame_equal(
        _without_source(quotes).astype({"open_interest": np.int64}),
        _without_source(simulated.option_quotes(CONTRACTS, day)),
        check_dtype=False,
    )

    refs = files.securities(["AAPL", "VIX", "NOPE"])
    assert list(refs.columns) == SECURITY_COLUMNS
    assert refs.set_index("symbol").loc["VIX", "asset_class"] == "index"
    assert set(refs["symbol"]) == {"AAPL", "VIX"}
    assert set(refs["source"]) == {"files"}


def test_filters_to_the_requested_symbols_and_dates(market_dir):
    files = FilesProvider(market_dir)
    bars = files.prices(["AAPL", "NOPE"], dt.date(2024, 6, 4), dt.date(2024, 6, 5))
    assert set(bars["symbol"]) == {"AAPL"}
    assert list(bars["date"]) == [dt.date(2024, 6, 4), dt.date(2024, 6, 5)]
    assert files.prices(["AAPL"], dt.date(2024, 7, 1), dt.date(2024, 7, 2)).empty
    assert set(files.treasury_yields(["DGS10"], START, END)["series_id"]) == {"DGS10"}
    one = files.option_quotes(CONTRACTS.iloc[:1], dt.date(2024, 6, 4))
    assert list(one["symbol"]) == ["AAPL250815P00200000"]


def test_optional_columns_and_files(tmp_path):
    _write(tmp_path / "prices.csv", """
date,symbol,close
2024-06-03,AAPL,190.5
2024-06-04,AAPL,191.25
""")
    _write(tmp_path / "treasury_yields.csv", "date,series_id,value\n2024-06-03,DGS10,4.41")
    files = FilesProvider(tmp_path)
    bars = files.prices(["AAPL"], START, END)
    assert list(bars.columns) == PRICE_COLUMNS
    assert list(bars["adj_close"]) == [190.5, 191.25]  # missing adj_close equals close
    assert bars["open"].isna().all() and bars["volume"].isna().all()
    # no option_quotes.csv / securities.csv: empty frames with the right columns
    quotes = files.option_quotes(CONTRACTS, START)
    assert quotes.empty and list(quotes.columns) == OPTION_QUOTE_COLUMNS
    refs = files.securities(["AAPL", "MSFT"])
    assert list(refs.columns) == SECURITY_COLUMNS
    assert refs.to_dict("records") == [{"symbol": "AAPL", "name": "AAPL",
                                        "asset_class": "equity", "sector": None,
                                        "industry": None, "source": "files"}]


def test_unknown_columns_are_ignored_and_headers_are_case_insensitive(tmp_path):
    _write(tmp_path / "prices.csv", """
Symbol,exchange,DATE,Close,adj_close,Volume,comment
aapl,NASDAQ,2024-06-03,190.50,189.00,1000,"hello, world"
""")
    _write(tmp_path / "treasury_yields.csv", "date,series_id,value,notes\n2024-06-03,DGS10,4.41,x")
    files = FilesProvider(tmp_path)
    bars = files.prices(["AAPL"], START, END)
    assert bars[["symbol", "close", "adj_close"]].to_dict("records") == [
        {"symbol": "AAPL", "close": 190.5, "adj_close": 189.0}
    ]
    assert bars["volume"].tolist() == [1000]
    assert files.treasury_yields(["DGS10"], START, END)["value"].tolist() == [4.41]


def test_quotes_need_only_one_price_column(tmp_path, market_dir):
    _write(market_dir / "option_quotes.csv", """
date,symbol,underlying,implied_vol
2024-06-03,AAPL250815P00200000,AAPL,0.31
""")
    quotes = FilesProvider(market_dir).option_quotes(CONTRACTS, START)
    assert quotes["implied_vol"].tolist() == [0.31]
    assert quotes["bid"].isna().all() and quotes["open_interest"].isna().all()


# --- malformed files -------------------------------------------------------------------------


def test_a_malformed_value_names_file_line_and_column(market_dir):
    path = market_dir / "prices.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[4].split(",")  # line 5 as a human counts (header = line 1)
    row[header.index("close")] = "abc"
    lines[4] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProviderDataError) as err:
        FilesProvider(market_dir).prices(SYMBOLS, START, END)
    message = str(err.value)
    assert "prices.csv" in message
    assert "line 5" in message and "close" in message and "'abc'" in message


def test_every_bad_line_is_listed_and_the_whole_file_is_checked(tmp_path):
    _write(tmp_path / "prices.csv", """
date,symbol,open,high,low,close,volume
2024-06-03,AAPL,190,192,189,191,1000
2024-13-45,AAPL,190,192,189,191,1000
2024-06-05,AAPL,190,192,189,-3,1000
2024-06-06,,190,192,189,191,1000
2024-06-07,AAPL,190,192,189,,1000
2024-06-10,AAPL,190,192,189,191,12.5
2024-06-11,AAPL,190,188,189,191,1000
2024-06-03,AAPL,190,192,189,191,1000
2023-01-03,MSFT,abc,300,290,295,1000
""")
    _write(tmp_path / "treasury_yields.csv", "date,series_id,value\n2024-06-03,DGS10,4.41")
    files = FilesProvider(tmp_path)
    with pytest.raises(ProviderDataError) as err:
        # the request covers one good line only: the bad ones elsewhere still fail it
        files.prices(["AAPL"], dt.date(2024, 6, 3), dt.date(2024, 6, 3))
    message = str(err.value)
    for needle in [
        "line 3, column date: '2024-13-45' is not a date",
        "line 4, column close: -3 is not a positive price",
        "line 5, column symbol: empty value",
        "line 6, column close: empty value",
        "line 7, column volume: 12.5 is not a whole number",
        "line 8, column high: high 188 is below low 189",
        "line 9: duplicate date, symbol (first on line 2)",
        "line 10, column open: 'abc' is not a number",
    ]:
        assert needle in message, (needle, message)
    assert "line 2," not in message


def test_long_error_lists_are_capped(tmp_path):
    rows = "\n".join(f"2024-06-03,S{i},x" for i in range(30))
    _write(tmp_path / "prices.csv", "date,symbol,close\n" + rows)
    with pytest.raises(ProviderDataError) as err:
        FilesProvider(tmp_path).prices(["S1"], START, END)
    message = str(err.value)
    assert "30 bad value(s) on 30 line(s)" in message
    assert "line 21," in message and "line 22," not in message
    assert "and 10 more" in message


@pytest.mark.parametrize(
    ("file", "header", "missing"),
    [
        ("prices.csv", "date,symbol,open,adj_close", "close"),
        ("prices.csv", "symbol,close", "date"),
        ("treasury_yields.csv", "date,series_id", "value"),
        ("option_quotes.csv", "date,symbol,bid", "underlying"),
        ("option_quotes.csv", "date,symbol,underlying,open_interest", "bid, ask, last"),
    ],
)
def test_missing_required_column_is_named(market_dir, file, header, missing):
    _write(market_dir / file, header + "\n")
    files = FilesProvider(market_dir)
    with pytest.raises(ProviderDataError) as err:
        files.prices(SYMBOLS, START, END)
        files.treasury_yields(TREASURY_SERIES, START, END)
        files.option_quotes(CONTRACTS, START)
    assert file in str(err.value) and missing in str(err.value)


def test_bad_quotes_and_securities_values(market_dir):
    _write(market_dir / "option_quotes.csv", """
date,symbol,underlying,bid,ask,last,implied_vol,open_interest
2024-06-03,AAPL250815P00200000,AAPL,-1,2,,,10
2024-06-03,SPY250919C00460000,SPY,,,,,
""")
    with pytest.raises(ProviderDataError) as err:
        FilesProvider(market_dir).option_quotes(CONTRACTS, START)
    assert "option_quotes.csv" in str(err.value)
    assert "line 2, column bid: -1 is negative" in str(err.value)
    assert "line 3: no value in any of bid, ask, last, implied_vol" in str(err.value)
    _write(market_dir / "securities.csv", "symbol,asset_class\nAAPL,stock")
    with pytest.raises(ProviderDataError, match=r"securities.csv.*\n.*line 2, column asset_class"):
        FilesProvider(market_dir).securities(["AAPL"])


def test_missing_directory_and_required_files(tmp_path):
    with pytest.raises(ProviderDataError, match="does not exist"):
        FilesProvider(tmp_path / "nowhere").prices(["AAPL"], START, END)
    with pytest.raises(ProviderDataError, match="prices.csv: file not found"):
        FilesProvider(tmp_path).prices(["AAPL"], START, END)
    with pytest.raises(ProviderDataError, match="treasury_yields.csv: file not found"):
        FilesProvider(tmp_path).treasury_yields(["DGS10"], START, END)


def test_a_changed_file_is_read_again(tmp_path):
    _write(tmp_path / "prices.csv", "date,symbol,close\n2024-06-03,AAPL,190.5")
    files = FilesProvider(tmp_path)
    assert files.prices(["AAPL"], START, START)["close"].tolist() == [190.5]
    _write(tmp_path / "prices.csv", "date,symbol,close\n2024-06-03,AAPL,abc")
    stat = (tmp_path / "prices.csv").stat()
    os.utime(tmp_path / "prices.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    with pytest.raises(ProviderDataError, match="line 2, column close"):
        files.prices(["AAPL"], START, START)


@pytest.mark.parametrize(
    ("body", "line"),
    [
        # a blank line still counts
        ("date,symbol,close\n2024-06-03,AAPL,1\n\n2024-06-04,AAPL,x\n", 4),
        # a quoted field spanning two lines: the record after it starts on line 5
        ('date,symbol,close,note\n2024-06-03,AAPL,1,"two\nlines"\n\n2024-06-04,AAPL,x,\n', 5),
        # Windows line ends
        ("date,symbol,close\r\n2024-06-03,AAPL,1\r\n2024-06-04,AAPL,x\r\n", 3),
    ],
)
def test_line_numbers_count_physical_lines(tmp_path, body, line):
    (tmp_path / "prices.csv").write_bytes(body.encode())
    with pytest.raises(ProviderDataError, match=f"line {line}, column close: 'x'"):
        FilesProvider(tmp_path).prices(["AAPL"], START, END)


def test_a_stray_field_is_reported(tmp_path):
    _write(tmp_path / "prices.csv", "date,symbol,close\n2024-06-03,AAPL,1\n2024-06-04,AAPL,2,3")
    with pytest.raises(ProviderDataError, match="line 3: 4 fields but the header has 3"):
        FilesProvider(tmp_path).prices(["AAPL"], START, END)


def test_securities_csv_supplies_sectors(tmp_path):
    _write(tmp_path / "prices.csv", "date,symbol,close\n2024-06-03,AAPL,190.5\n"
                                    "2024-06-03,SPY,530\n2024-06-03,NEWCO,10")
    _write(tmp_path / "treasury_yields.csv", "date,series_id,value\n2024-06-03,DGS10,4.41")
    _write(tmp_path / "securities.csv", "symbol,name,asset_class,sector,industry\n"
                                        "AAPL,Apple Inc.,equity,Information Technology,Hardware\n"
                                        "SPY,SPDR S&P 500,etf,,\n")
    refs = FilesProvider(tmp_path).securities(["AAPL", "SPY", "NEWCO"]).set_index("symbol")
    assert refs.loc["AAPL", "sector"] == "Information Technology"
    assert refs.loc["SPY", "asset_class"] == "etf" and pd.isna(refs.loc["SPY", "sector"])
    assert pd.isna(refs.loc["NEWCO", "sector"])  # unlisted: reported as "(unclassified)"
