"""The exception tree.

::

    LexprepError
    ├── InputError              a bad file: never retried; recorded against the document
    │   ├── UnsupportedFormatError   a format lexprep cannot read (or a converter is missing)
    │   ├── EmptyFileError           a zero-byte file
    │   ├── EncryptedFileError       a password-protected file
    │   ├── CorruptFileError         truncated or malformed content
    │   ├── LimitExceededError       over a limit of settings.limits (size, pages, time, memory ...)
    │   └── SkippedFileError         deliberately not read (a symlink out of the source folder, a FIFO ...)
    ├── TransientError          timeouts, HTTP 429 and 5xx, a locked database: the only thing retried
    ├── ConfigurationError      bad settings, an unreachable database at start-up
    └── MissingDependencyError  an optional engine is not installed (names the extra or tool)
    RunInterrupted (a BaseException)  the run is being stopped: nothing more is recorded

Every message is one line a person understands; it is stored as the document's ``error``.
"""

from __future__ import annotations


class LexprepError(Exception):
    """Base of every error lexprep raises on purpose."""


class InputError(LexprepError):
    """The input file itself is bad. Retrying cannot help; the document is marked ``failed``."""

    #: the document status this error leads to
    status = "failed"


class UnsupportedFormatError(InputError):
    """A format lexprep cannot read here; the document is marked ``unsupported``."""

    status = "unsupported"


class EmptyFileError(InputError):
    """A zero-byte file."""


class EncryptedFileError(InputError):
    """A password-protected or encrypted file."""


class CorruptFileError(InputError):
    """Truncated or malformed content that the format's parser rejects."""


class LimitExceededError(InputError):
    """The file went over one of ``settings.limits`` (its size, pages, time or memory budget ...).

    The message says which and how much ("exceeded 120 s extracting", "file is 3.0 GiB, over the limit
    of 1 GiB (limits.max_file_bytes)"). Not retried unless asked (``--retry-failed``, after raising the
    limit).
    """


class SkippedFileError(InputError):
    """A path found in the source that is deliberately not read: a symbolic link leading outside the
    source folder, a named pipe, a socket or a device. The document is marked ``skipped``."""

    status = "skipped"


class TransientError(LexprepError):
    """A failure that may pass on its own (timeout, HTTP 429/5xx, a locked database). Retried."""


class RunInterrupted(BaseException):
    """The run is being stopped (Ctrl-C, SIGTERM): raised in the threads still at work so that nothing
    more is recorded (a BaseException: no ``except Exception`` takes it for a document's failure)."""


class ConfigurationError(LexprepError):
    """The settings or the environment are wrong (e.g. the database cannot be reached)."""


class MissingDependencyError(LexprepError):
    """An optional engine or tool is not installed.

    Args:
        what: the missing package or program.
        install: how to get it (a pip extra such as ``lexprep[ocr]`` or an apt package).
    """

    def __init__(self, what: str, install: str):
        self.what = what
        self.install = install
        super().__init__(f"{what} is not installed (install {install})")
