"""Settings: environment and .env, defaults, and keys that never print."""

from __future__ import annotations

from sigmasight_pipeline.providers.factory import build_provider
from sigmasight_pipeline.settings import Settings


def test_dotenv_file_is_read_and_keys_stay_secret(tmp_path, monkeypatch):
    for var in ("SIGMASIGHT_MARKET_DATA", "POLYGON_API_KEY", "FRED_API_KEY",
                "SIGMASIGHT_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    assert Settings().resolved_market_data == "simulated"
    (tmp_path / ".env").write_text("POLYGON_API_KEY=pk_SECRET_123\nFRED_API_KEY=fk_SECRET_456\n"
                                   "SIGMASIGHT_REPORTS_DIR=/srv/reports\n")
    settings = Settings()
    assert settings.resolved_market_data == "polygon"
    assert settings.polygon_api_key.get_secret_value() == "pk_SECRET_123"
    assert str(settings.reports_dir) == "/srv/reports"
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "pk_SECRET_123" not in text and "fk_SECRET_456" not in text
    monkeypatch.setenv("SIGMASIGHT_MARKET_DATA", "simulated")  # environment wins over .env
    assert Settings().resolved_market_data == "simulated"


def test_provider_choice_errors_name_the_missing_setting():
    import pytest

    from sigmasight_pipeline.providers.base import ProviderError

    with pytest.raises(ProviderError, match="POLYGON_API_KEY"):
        build_provider("polygon")
    with pytest.raises(ProviderError, match="FRED_API_KEY"):
        build_provider("polygon", polygon_api_key="k")
    with pytest.raises(ProviderError, match="SIGMASIGHT_MARKET_DATA_DIR"):
        build_provider("files")
    provider = build_provider("polygon", polygon_api_key="k", fred_api_key="f")
    assert provider.source == "polygon+fred"
    assert build_provider("simulated").source == "simulated"
