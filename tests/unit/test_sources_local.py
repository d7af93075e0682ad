"""A local matter folder as a hostile party could leave it: special files, symbolic links out of it,
odd names, deep paths, huge files, files and folders that cannot be read. Every path is accounted for
and none blocks or crashes the listing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from lexprep.errors import SkippedFileError
from lexprep.sources import SourceRef, list_sources, load, path_key, safe_name
from tests.hostile import deep_file

pytestmark = pytest.mark.unit


def _by_name(refs: list[SourceRef]) -> dict[str, SourceRef]:
    return {r.file_name: r for r in refs}


def test_special_files_are_listed_skipped_and_never_opened(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    os.mkfifo(tmp_path / "pipe")
    refs = _by_name(list_sources(str(tmp_path)))
    assert refs["pipe"].status == "skipped"
    assert refs["pipe"].reason == "a named pipe (FIFO), not a regular file: never opened"
    assert refs["a.txt"].status is None
    # a FIFO put where a file was listed is not opened for reading either (that would block the run)
    with pytest.raises(SkippedFileError, match="named pipe"):
        load(SourceRef(str(tmp_path / "pipe"), "pipe", 0))


def test_symbolic_links_out_of_the_folder_are_not_followed_unless_asked(tmp_path):
    src, elsewhere = tmp_path / "matter", tmp_path / "elsewhere"
    (src / "docs").mkdir(parents=True)
    elsewhere.mkdir()
    (elsewhere / "outside.txt").write_text("outside")
    (elsewhere / "folder").mkdir()
    (elsewhere / "folder" / "far.txt").write_text("far")
    (src / "docs" / "inside.txt").write_text("inside")
    os.symlink(elsewhere / "outside.txt", src / "out-link.txt")
    os.symlink(elsewhere / "folder", src / "out-folder")
    os.symlink(src / "docs" / "inside.txt", src / "in-link.txt")
    os.symlink(src / "docs", src / "in-folder")
    os.symlink(tmp_path / "nowhere", src / "dangling")
    refs = _by_name(list_sources(str(src)))
    assert refs["out-link.txt"].status == "skipped"
    assert refs["out-link.txt"].reason == (f"symbolic link to {elsewhere / 'outside.txt'}, outside the source folder: "
                                           "not followed (limits.follow_external_symlinks)")
    assert refs["out-folder"].status == "skipped"
    assert refs["in-link.txt"].status is None and load(refs["in-link.txt"])[1] == b"inside"
    assert refs["in-folder"].status == "skipped" and "inside the source" in refs["in-folder"].reason
    assert refs["dangling"].status == "skipped" and refs["dangling"].reason.startswith("broken symbolic link")
    assert refs["inside.txt"].status is None
    followed = _by_name(list_sources(str(src), follow_external_symlinks=True))
    assert followed["out-link.txt"].status is None and load(followed["out-link.txt"])[1] == b"outside"
    assert followed["far.txt"].status is None and followed["far.txt"].uri == str(src / "out-folder" / "far.txt")


def test_names_that_are_not_utf8_are_kept_and_shown_safely(tmp_path):
    raw = os.fsencode(tmp_path) + b"/caf\xe9\n\x1b[31m.txt"
    with open(raw, "wb") as fh:
        fh.write(b"odd name")
    [ref] = list_sources(str(tmp_path))
    assert ref.file_name == "caf\\xe9\\x0a\\x1b[31m.txt"
    source, data = load(ref)  # the URI keeps the bytes that open the file
    assert data == b"odd name"
    assert source.file_name == ref.file_name and source.uri.endswith("/caf\\xe9\\x0a\\x1b[31m.txt")
    source.uri.encode("utf-8")  # no lone surrogate left: every database and JSON encoder takes it


def test_a_file_deeper_than_path_max_is_listed_and_read(tmp_path):
    deep_file(tmp_path, b"deep content")
    [ref] = list_sources(str(tmp_path))
    assert ref.file_name == "deep.txt" and len(ref.uri) > 4096 and ref.status is None
    assert load(ref)[1] == b"deep content"


def test_a_file_over_the_limit_is_hashed_as_a_stream(tmp_path):
    path = tmp_path / "big.bin"
    with open(path, "wb") as fh:
        fh.write(b"%PDF-1.4\n")
        fh.truncate(64 << 20)  # sparse
    [ref] = list_sources(str(tmp_path))
    tracemalloc.start()
    try:
        source, data = load(ref, max_bytes=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert data is None and peak < 8 << 20  # never read whole
    expected = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            expected.update(chunk)
    assert source.sha256 == expected.hexdigest() and source.size == 64 << 20 and source.kind == "pdf"


def test_hidden_files_and_os_droppings_are_still_ignored(tmp_path):
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "Thumbs.db").write_text("x")
    (tmp_path / "kept.txt").write_text("x")
    assert [r.file_name for r in list_sources(str(tmp_path))] == ["kept.txt"]


def test_path_keys_never_look_like_content():
    assert path_key("/m/pipe") == path_key("/m/pipe") != path_key("/m/pipe2")
    assert path_key("/m/pipe") != hashlib.sha256(b"/m/pipe").hexdigest()
    assert safe_name("plain é.pdf") == "plain é.pdf"


_UNREADABLE = r"""
import json, sys
from lexprep.errors import InputError
from lexprep.sources import list_sources, load
out = {}
for ref in list_sources(sys.argv[1]):
    entry = {"status": ref.status, "reason": ref.reason}
    if ref.status is None:
        try:
            entry["bytes"] = load(ref)[1].decode()
        except InputError as exc:
            entry["error"] = [type(exc).__name__, str(exc)]
    out[ref.file_name] = entry
print(json.dumps(out))
"""


def test_files_and_folders_that_cannot_be_read_are_per_file_outcomes(tmp_path):
    """In a process where file permissions apply (as root: CAP_DAC_OVERRIDE dropped with setpriv)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv (util-linux): file permissions do not apply")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    (tmp_path / "ok.txt").write_text("readable")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.txt").write_text("x")
    os.chmod(tmp_path / "secret.txt", 0)
    os.chmod(tmp_path / "locked", 0)
    try:
        res = subprocess.run([*prefix, sys.executable, "-c", _UNREADABLE, str(tmp_path)], capture_output=True,
                             text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    finally:
        os.chmod(tmp_path / "locked", 0o755)
        os.chmod(tmp_path / "secret.txt", 0o644)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["ok.txt"] == {"status": None, "reason": None, "bytes": "readable"}
    assert out["locked"] == {"status": "failed", "reason": "folder cannot be opened: Permission denied"}
    assert out["secret.txt"]["error"] == ["InputError", f"cannot read {tmp_path / 'secret.txt'}: permission denied"]
