"""Legacy word-processor formats through external converters.

- Word 97-2003 ``.doc``: ``antiword`` (Debian package antiword), else LibreOffice headless.
- WordPerfect ``.wpd``: ``wpd2text`` (Debian package libwpd-tools), else LibreOffice headless.

A missing converter makes the document ``unsupported`` with a message naming the tool to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lexprep.errors import CorruptFileError, UnsupportedFormatError
from lexprep.models import ExtractedDocument, Page, PageMethod

TIMEOUT_S = 120

_FORMATS = {
    "doc": ("Word 97-2003 .doc", "antiword", ["antiword", "-w", "0"], "antiword"),
    "wpd": ("WordPerfect", "wpd2text", ["wpd2text"], "libwpd-tools"),
}


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _run(cmd: list[str], path: Path) -> str:
    env = dict(os.environ, LC_ALL="C.UTF-8")
    try:
        proc = subprocess.run([*cmd, str(path)], capture_output=True, timeout=TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired as exc:
        raise CorruptFileError(f"{Path(cmd[0]).name} did not finish within {TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit code {proc.returncode}"])[0]
        first = first.replace(str(path), "the file")  # the temporary path means nothing to a person
        raise CorruptFileError(f"{Path(cmd[0]).name} could not read the file: {first[:200]}")
    return proc.stdout.decode("utf-8", "replace")


def _libreoffice(soffice: str, path: Path, workdir: Path) -> str:
    cmd = [soffice, "--headless", "--norestore", "--convert-to", "txt:Text (encoded):UTF8", "--outdir", str(workdir), str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise CorruptFileError(f"LibreOffice did not finish within {TIMEOUT_S} s") from exc
    out = workdir / (path.stem + ".txt")
    if proc.returncode != 0 or not out.exists():
        raise CorruptFileError("LibreOffice could not convert the file")
    return out.read_text("utf-8", errors="replace")


def extract_legacy(data: bytes, kind: str) -> ExtractedDocument:
    """Text of a ``doc`` or ``wpd`` file as one part (page 1, method ``converter``).

    Raises:
        UnsupportedFormatError: no converter installed (the message names the package).
        CorruptFileError: the converter rejected the file or timed out.
    """
    label, program, cmd, package = _FORMATS[kind]
    tool = shutil.which(program)
    soffice = _soffice()
    if tool is None and soffice is None:
        raise UnsupportedFormatError(f"{label} needs {program} or LibreOffice (apt-get install {package})")
    with tempfile.TemporaryDirectory(prefix="lexprep-") as tmp:
        path = Path(tmp) / f"input.{kind}"
        path.write_bytes(data)
        if tool is not None:
            try:
                text, used = _run([tool, *cmd[1:]], path), program
            except CorruptFileError:
                if soffice is None:
                    raise
                # antiword reads Word 97-2003 only (not Word 6/95); LibreOffice reads more
                text, used = _libreoffice(soffice, path, Path(tmp)), "libreoffice"
        else:
            text, used = _libreoffice(soffice, path, Path(tmp)), "libreoffice"
    return ExtractedDocument(kind=kind, pages=[Page(1, PageMethod.converter.value, text, 1.0)],
                             meta={"converter": used})
