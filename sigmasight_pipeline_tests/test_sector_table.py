"""The packaged SIC → GICS table: complete, unambiguous, validated on load."""

import pytest

from sigmasight_pipeline.providers.sectors import (
    GICS_SECTORS,
    SectorTableError,
    gics_sector_of_sic,
    hashed_gics_sector,
    parse_sic_table,
    sic_table,
)


def test_table_uses_exactly_the_11_gics_sectors():
    table = sic_table()
    assert len(GICS_SECTORS) == 11
    assert {r.sector for r in table} == set(GICS_SECTORS)


def test_every_classifiable_sic_code_has_a_sector():
    # every code of the SEC's divisions A-I (01xx-89xx) that a range covers maps to one of
    # the 11; 90xx-99xx (public administration, nonclassifiable) map to none
    for code in range(100, 9000):
        sector = gics_sector_of_sic(f"{code:04d}")
        assert sector is None or sector in GICS_SECTORS
    for major in (10, 13, 20, 28, 35, 36, 38, 48, 49, 50, 53, 60, 65, 73, 80):
        assert gics_sector_of_sic(major * 100 + 1) in GICS_SECTORS
    assert gics_sector_of_sic("9995") is None
    assert gics_sector_of_sic(None) is None and gics_sector_of_sic("n/a") is None
    assert gics_sector_of_sic(3571) == "Information Technology"


def test_narrowest_range_decides():
    table = parse_sic_table("sic_from,sic_to,gics_sector,sic_description\n"
                            "2800,2899,Materials,Chemicals\n"
                            "2830,2836,Health Care,Drugs\n")
    assert gics_sector_of_sic("2834", table) == "Health Care"
    assert gics_sector_of_sic("2810", table) == "Materials"
    assert gics_sector_of_sic("2900", table) is None


@pytest.mark.parametrize("rows, message", [
    ("0100,0999,Technology,x", "line 3: 'Technology' is not one of the 11 GICS sectors"),
    ("01x0,0999,Energy,x", "line 3: sic_from/sic_to must be integers"),
    ("0999,0100,Energy,x", "line 3: range 999-100"),
    ("0100,0199,Energy,x\n0150,0249,Materials,y", "ranges 100-199 and 150-249 overlap"),
])
def test_bad_tables_name_file_and_line(rows, message):
    with pytest.raises(SectorTableError, match="my.csv") as err:
        parse_sic_table("# comment\nsic_from,sic_to,gics_sector,sic_description\n" + rows,
                        "my.csv")
    assert message in str(err.value)


def test_hashed_sector_is_stable():
    import zlib
    assert hashed_gics_sector("NEWCO") == GICS_SECTORS[zlib.crc32(b"NEWCO") % 11]
    assert len({hashed_gics_sector(f"T{i}") for i in range(200)}) == 11
