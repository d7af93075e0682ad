"""lexprep's Prefect blocks: Prefect's own block standard test suite, plus what each block promises."""

from __future__ import annotations

import urllib.request

import pytest
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import SecretStr, ValidationError

from lexprep_prefect.blocks import (
    BLOCK_TYPES,
    LexprepDatabase,
    LexprepSettingsBlock,
    MistralCredentials,
    OpenAICredentials,
)
from lexprep.errors import ConfigurationError
from lexprep.settings import Settings

pytestmark = pytest.mark.unit


class _Suite(BlockStandardTestSuite):
    """The standard suite; its logo check downloads the image, so it is skipped (saying why) offline."""

    def test_has_a_valid_image(self, block) -> None:
        assert str(block._logo_url).startswith("https://")
        try:
            urllib.request.urlopen(str(block._logo_url), timeout=5).close()
        except OSError as exc:
            pytest.skip(f"logo {block._logo_url} not reachable from here ({type(exc).__name__}); no internet")
        super().test_has_a_valid_image(block)


class TestLexprepDatabaseStandard(_Suite):
    @pytest.fixture
    def block(self):
        return LexprepDatabase


class TestMistralCredentialsStandard(_Suite):
    @pytest.fixture
    def block(self):
        return MistralCredentials


class TestOpenAICredentialsStandard(_Suite):
    @pytest.fixture
    def block(self):
        return OpenAICredentials


class TestLexprepSettingsBlockStandard(_Suite):
    @pytest.fixture
    def block(self):
        return LexprepSettingsBlock


def test_every_block_is_covered_and_slugs_are_prefixed():
    assert set(BLOCK_TYPES) == {LexprepDatabase, MistralCredentials, OpenAICredentials, LexprepSettingsBlock}
    slugs = [b.get_block_type_slug() for b in BLOCK_TYPES]
    assert all(s.startswith("lexprep-") for s in slugs), slugs
    assert len(set(slugs)) == len(slugs)


def test_secret_fields_are_secretstr():
    for block, names in (
        (LexprepDatabase, ("connection_url", "password")),
        (MistralCredentials, ("api_key",)),
        (OpenAICredentials, ("api_key",)),
    ):
        for name in names:
            assert "SecretStr" in str(block.model_fields[name].annotation), (block.__name__, name)


# ------------------------------------------------------------------------------------ LexprepDatabase


def test_database_from_parts_supabase_pooler():
    db = LexprepDatabase(
        host="aws-0-eu-west-1.pooler.supabase.com",
        port=6543,
        username="postgres.abcdefgh",
        password="p@ss:w/rd",
        sslmode="require",
    )
    assert db.url() == (
        "postgresql+psycopg://postgres.abcdefgh:p%40ss%3Aw%2Frd@aws-0-eu-west-1.pooler.supabase.com:6543/postgres"
        "?sslmode=require"
    )
    assert "p%40ss" not in db.safe_url() and "***" in db.safe_url()
    assert "p@ss" not in repr(db) and "p@ss" not in str(db)


def test_database_from_url_is_secret_and_round_trips():
    url = "postgresql+psycopg://postgres:hunter2@db.abcdefgh.supabase.co:5432/postgres?sslmode=require"
    db = LexprepDatabase(connection_url=url)
    assert isinstance(db.connection_url, SecretStr)
    assert db.url() == url
    assert "hunter2" not in repr(db) and "hunter2" not in db.safe_url()


def test_database_sqlite():
    assert LexprepDatabase(driver="sqlite", database="/data/x.db").url() == "sqlite:////data/x.db"
    assert LexprepDatabase(connection_url="sqlite:///rel.db").url() == "sqlite:///rel.db"


def test_database_errors():
    with pytest.raises(ConfigurationError, match="connection_url or host"):
        LexprepDatabase().url()
    with pytest.raises(ValidationError, match="not both"):
        LexprepDatabase(connection_url="sqlite:///x.db", host="h")
    with pytest.raises(ConfigurationError, match="not a valid") as info:
        LexprepDatabase(connection_url="not a url with secret").url()
    assert "secret" not in str(info.value)


def test_database_url_opens_a_store(tmp_path):
    from lexprep.store import Store

    db = LexprepDatabase(driver="sqlite", database=str(tmp_path / "store.db"))
    store = Store.open(db.url())
    assert store.ensure_matter("m1")
    assert (tmp_path / "store.db").exists()


# ------------------------------------------------------------------------------------ credentials


def test_mistral_credentials_overrides():
    creds = MistralCredentials(api_key="mk-123", server_url="https://mistral.example/v1")
    assert "mk-123" not in repr(creds)
    assert creds.settings_overrides() == {"ocr": {"mistral_api_key": "mk-123", "mistral_base_url": "https://mistral.example/v1"}}
    assert MistralCredentials(api_key="k").settings_overrides() == {"ocr": {"mistral_api_key": "k"}}
    with pytest.raises(ValidationError):
        MistralCredentials()


def test_openai_credentials_overrides_and_client():
    creds = OpenAICredentials(api_key="sk-abc", base_url="http://127.0.0.1:8000/v1", organization="org-1")
    assert "sk-abc" not in repr(creds)
    assert creds.settings_overrides() == {"asr": {"openai_api_key": "sk-abc", "openai_base_url": "http://127.0.0.1:8000/v1"},
                                          "llm": {"api_key": "sk-abc", "base_url": "http://127.0.0.1:8000/v1"}}
    try:
        import openai  # noqa: F401
    except ImportError:
        from lexprep.errors import MissingDependencyError

        with pytest.raises(MissingDependencyError, match="openai"):
            creds.get_client()
    else:
        client = creds.get_client()
        assert str(client.base_url).startswith("http://127.0.0.1:8000/v1")
        assert client.organization == "org-1"


# ------------------------------------------------------------------------------------ settings


def test_settings_block_to_settings_merges_in_order(monkeypatch):
    monkeypatch.setenv("LEXPREP_CHUNK__OVERLAP_TOKENS", "7")
    block = LexprepSettingsBlock(
        profile="cloud",
        overrides={"chunk": {"size_tokens": 256}, "ocr": {"engine": "tesseract"}},
        database=LexprepDatabase(driver="sqlite", database="/tmp/x.db"),
        mistral=MistralCredentials(api_key="mk"),
        openai=OpenAICredentials(api_key="sk", base_url="http://localhost:11434/v1"),
    )
    settings = block.to_settings(chunk={"tokenizer": "words"}, ner={"workers": 0})
    assert isinstance(settings, Settings)
    assert settings.profile == "cloud"
    assert settings.chunk.size_tokens == 256
    assert settings.chunk.overlap_tokens == 7  # environment underneath, merged per field
    assert settings.ner.workers == 0
    assert settings.ocr_engine() == "tesseract"
    assert settings.db_url == "sqlite:////tmp/x.db"
    assert settings.ocr.mistral_api_key.get_secret_value() == "mk"
    assert settings.asr.openai_api_key.get_secret_value() == "sk"
    assert settings.asr.openai_base_url == "http://localhost:11434/v1"
    assert "mk" not in repr(settings.ocr.mistral_api_key)


def test_settings_block_defaults_are_the_environments():
    assert LexprepSettingsBlock().to_settings().model_dump() == Settings().model_dump()


def test_settings_block_rejects_unknown_keys_and_bad_values():
    with pytest.raises(ValidationError, match="chunk.size_tokenz"):
        LexprepSettingsBlock(overrides={"chunk": {"size_tokenz": 1}})
    with pytest.raises(ValidationError, match="nonsense"):
        LexprepSettingsBlock(overrides={"nonsense": True})
    block = LexprepSettingsBlock(overrides={"chunk": {"size_tokens": 4}})
    with pytest.raises(ConfigurationError, match="chunk.size_tokens"):
        block.to_settings()
    with pytest.raises(ConfigurationError, match="unknown"):
        LexprepSettingsBlock().to_settings(bogus=1)


def test_settings_block_error_never_shows_secret_values():
    block = LexprepSettingsBlock(openai=OpenAICredentials(api_key="sk-very-secret"))
    with pytest.raises(ConfigurationError) as info:
        block.to_settings(asr={"openai_api_key": ["sk-very-secret"]})
    assert "sk-very-secret" not in str(info.value)


def test_settings_block_schema_nests_the_credential_blocks():
    schema = LexprepSettingsBlock.model_json_schema()
    refs = {d.get("block_type_slug") for d in schema.get("definitions", schema.get("$defs", {})).values()}
    assert {"lexprep-database", "lexprep-mistral-credentials", "lexprep-openai-credentials"} <= refs
