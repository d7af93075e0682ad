"""Object-store sources without a server: path sanitising, error mapping, options."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lexprep.errors import ConfigurationError, InputError, TransientError
from lexprep.sources import ObjectNotFoundError, S3Options, UnsafePathError, download, object_key
from lexprep.sources._errors import translate
from lexprep.sources.safe_paths import (
    MAX_COMPONENT_BYTES,
    safe_component,
    safe_join,
    safe_relative_parts,
)

pytestmark = pytest.mark.unit

HOSTILE_KEYS = [
    "../../etc/passwd",
    "/abs/key",
    "/etc/passwd",
    "a/../../b",
    "a\\..\\b",
    "..\\..\\windows\\system32",
    "%2e%2e/x",
    "%2e%2e%2f%2e%2e%2fx",
    "..",
    ".",
    "",
    "/",
    "//",
    "a/./b",
    "nul\x00byte/../x",
    "new\nline/..\r\n/x",
    "bidi\u202egpj.exe",
    "\u2025/\uff0e\uff0e/x",  # two-dot leader, fullwidth dots
    "ünï/çødé.pdf",
    "C:\\Windows\\evil",
    "x" * 1000 + ".pdf",
    "\udcff\udcfe",  # undecodable bytes as surrogates (os.fsdecode of bad bytes)
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_stay_inside_dest(tmp_path, key):
    dest = tmp_path / "dest"
    target = safe_join(dest, key)
    root = dest.resolve()
    assert target.is_relative_to(root) and target != root
    for part in target.relative_to(root).parts:
        assert part not in ("", ".", "..")
        assert "/" not in part and "\\" not in part and "\x00" not in part and "\n" not in part
        assert len(part.encode("utf-8", errors="surrogatepass")) <= MAX_COMPONENT_BYTES
        part.encode("utf-8")  # no lone surrogates left: the name can be written


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_can_be_written(tmp_path, key):
    dest = tmp_path / "dest"
    target = safe_join(dest, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"x")
    assert list(tmp_path.iterdir()) == [dest]  # nothing next to dest


def test_ordinary_keys_are_kept():
    assert safe_relative_parts("matter/inbox/Letter 1.pdf") == ["matter", "inbox", "Letter 1.pdf"]
    assert safe_relative_parts("ünï/çødé.pdf") == ["ünï", "çødé.pdf"]
    assert safe_relative_parts("%2e%2e/x") == ["%2e%2e", "x"]  # literal, never URL-decoded


def test_rewritten_keys_get_a_distinct_tag_before_the_extension():
    a = safe_relative_parts("a/../b.pdf")
    b = safe_relative_parts("a/b.pdf")
    c = safe_relative_parts("a\\b.pdf")
    assert b == ["a", "b.pdf"]
    assert a[0] == "a" and a[-1].startswith("b~") and a[-1].endswith(".pdf")
    assert len({tuple(a), tuple(b), tuple(c)}) == 3
    assert safe_relative_parts("a/../b.pdf") == a  # deterministic


def test_components():
    assert safe_component("..") is None and safe_component(".") is None and safe_component("  ") is None
    assert safe_component("a\x00b\nc") == "a_b_c"
    assert safe_component('x:y*z?"<>|') == "x_y_z_____"
    assert safe_component("e\u0301") == "\u00e9"  # NFC
    long = safe_component("y" * 500 + ".docx")
    assert long.endswith(".docx") and len(long.encode()) <= MAX_COMPONENT_BYTES
    wide = safe_component("é" * 300)
    assert len(wide.encode()) <= MAX_COMPONENT_BYTES


def test_symlink_in_dest_cannot_lead_outside(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "link").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="unsafe object key"):
        safe_join(dest, "link/x.txt")
    assert isinstance(UnsafePathError("x"), InputError)


def test_download_local_file_uses_its_base_name(tmp_path):
    src = tmp_path / "src" / "deep" / "Memo.docx"
    src.parent.mkdir(parents=True)
    src.write_bytes(b"PK\x03\x04...")
    out = download(str(src), tmp_path / "work")
    assert out == (tmp_path / "work" / "Memo.docx").resolve()
    assert out.read_bytes() == b"PK\x03\x04..."
    assert [p.name for p in out.parent.iterdir()] == ["Memo.docx"]  # no temporary left


def test_download_missing_local_file(tmp_path):
    with pytest.raises(ObjectNotFoundError, match="object not found"):
        download(str(tmp_path / "gone.pdf"), tmp_path / "work")
    assert not any((tmp_path / "work").glob("*"))


def test_object_key():
    assert object_key("s3://b/x/y.pdf") == "x/y.pdf"
    assert object_key("s3://b//abs/key") == "/abs/key"
    assert object_key("supabase://b/../../etc/passwd") == "../../etc/passwd"
    assert object_key("/tmp/a/b.txt") == "b.txt"


# ---- error mapping -------------------------------------------------------------------------


class FakeClientError(Exception):
    """Shaped like botocore's ClientError (``response`` dict)."""

    def __init__(self, code, status):
        super().__init__(f"An error occurred ({code})")
        self.response = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}


def wrapped(outer: BaseException, code: str, status: int) -> BaseException:
    """An s3fs-style translated error whose cause is the ClientError."""
    outer.__cause__ = FakeClientError(code, status)
    return outer


class NoCredentialsError(Exception):
    pass


class EndpointConnectionError(Exception):
    pass


@pytest.mark.parametrize(
    "exc, listing, cls, text",
    [
        (wrapped(OSError(errno.EBUSY, "slow"), "SlowDown", 503), False, TransientError, "temporary"),
        (wrapped(OSError(errno.EIO, "x"), "InternalError", 500), True, TransientError, "temporary"),
        (wrapped(OSError(errno.EIO, "x"), "Whatever", 429), False, TransientError, "temporary"),
        (TimeoutError("read timed out"), False, TransientError, "retry later"),
        (EndpointConnectionError("could not connect"), True, TransientError, "cannot reach"),
        (wrapped(FileNotFoundError("k"), "NoSuchKey", 404), False, ObjectNotFoundError, "object not found: s3://b/k"),
        (wrapped(FileNotFoundError("k"), "NoSuchKey", 404), True, ConfigurationError, "source not found: s3://b/k"),
        (wrapped(FileNotFoundError("b"), "NoSuchBucket", 404), False, ConfigurationError, "source not found: s3://b "),
        (wrapped(PermissionError("no"), "InvalidAccessKeyId", 403), True, ConfigurationError, "access denied to s3://b/k: check credentials"),
        (wrapped(PermissionError("no"), "SignatureDoesNotMatch", 403), False, ConfigurationError, "access denied"),
        (NoCredentialsError("Unable to locate credentials"), True, ConfigurationError, "no credentials for s3://b/k"),
        (wrapped(PermissionError("glacier"), "InvalidObjectState", 403), False, InputError, "archived"),
        (ValueError("odd"), True, ConfigurationError, "cannot list source s3://b/k: odd"),
        (ValueError("odd"), False, InputError, "cannot read s3://b/k: odd"),
    ],
)
def test_translate(exc, listing, cls, text):
    err = translate(exc, "s3://b/k", listing=listing)
    assert isinstance(err, cls)
    assert text in str(err) + " "
    assert "\n" not in str(err)


def test_translate_redacts_userinfo():
    err = translate(PermissionError("x"), "s3://AKIA:SECRET@b/k", listing=True)
    assert "SECRET" not in str(err) and "AKIA" not in str(err)


def test_object_not_found_is_input_error_and_transient_is_not():
    assert issubclass(ObjectNotFoundError, InputError)
    assert not issubclass(TransientError, InputError)


# ---- options ---------------------------------------------------------------------------


def test_s3_options_hide_secrets_and_map_to_s3fs():
    o = S3Options(
        endpoint_url="http://127.0.0.1:9000",
        region="eu-west-2",
        key="AKIAEXAMPLE",
        secret="s3cr3t-value",
        addressing_style="path",
    )
    assert "s3cr3t-value" not in repr(o) and "s3cr3t-value" not in str(o.model_dump())
    assert o.to_storage_options() == {
        "key": "AKIAEXAMPLE",
        "secret": "s3cr3t-value",
        "endpoint_url": "http://127.0.0.1:9000",
        "client_kwargs": {"region_name": "eu-west-2"},
        "config_kwargs": {"s3": {"addressing_style": "path"}},
    }
    assert S3Options().to_storage_options() == {}
    assert S3Options(anon=True).to_storage_options() == {"anon": True}


def test_block_conversion():
    prefect_aws = pytest.importorskip("prefect_aws")
    from lexprep_prefect.blocks.aws import storage_options_from_credentials

    creds = prefect_aws.AwsCredentials(
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="s3cr3t-value",
        region_name="eu-west-1",
        aws_client_parameters={"endpoint_url": "http://127.0.0.1:5000", "config": {"retries": {"max_attempts": 2}}},
    )
    assert storage_options_from_credentials(creds) == {
        "key": "AKIAEXAMPLE",
        "secret": "s3cr3t-value",
        "endpoint_url": "http://127.0.0.1:5000",
        "client_kwargs": {"region_name": "eu-west-1"},
        "config_kwargs": {"retries": {"max_attempts": 2}},
    }
    assert storage_options_from_credentials(prefect_aws.AwsCredentials()) == {}


def test_missing_local_source_unchanged(tmp_path):
    from lexprep.sources import list_sources

    with pytest.raises(ConfigurationError, match="source not found"):
        list_sources(str(tmp_path / "missing"))
    (tmp_path / "x.txt").write_text("x")
    assert [r.uri for r in list_sources(str(tmp_path))] == [os.path.join(str(tmp_path), "x.txt")]
    assert Path(list_sources(str(tmp_path / "x.txt"))[0].uri).name == "x.txt"
