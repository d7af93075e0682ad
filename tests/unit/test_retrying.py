"""lexprep.retrying: the cheap stages' retry policy (only passing failures, 4 attempts, 2/4/8 s)."""

from __future__ import annotations

import pytest

from lexprep import retrying
from lexprep.errors import CorruptFileError, TransientError

pytestmark = pytest.mark.unit


def _flaky(failures: list[BaseException], result="ok"):
    calls = []

    def fn(*args, **kwargs):
        calls.append((args, kwargs))
        if failures:
            raise failures.pop(0)
        return result

    return fn, calls


def test_a_passing_failure_is_retried_with_doubling_waits():
    fn, calls = _flaky([TransientError("worker died"), TransientError("429")])
    waits: list[float] = []
    assert retrying.call(fn, 1, key="v", what="extracting a.pdf", sleep=waits.append, jitter=0.0) == "ok"
    assert calls == [((1,), {"key": "v"})] * 3
    assert waits == [2.0, 4.0]


def test_retries_give_up_after_four_attempts_with_the_last_error(caplog):
    fn, calls = _flaky([TransientError(f"timeout {i}") for i in range(5)])
    waits: list[float] = []
    with pytest.raises(TransientError, match="timeout 3"):
        retrying.call(fn, what="storing a.pdf", sleep=waits.append, jitter=0.0)
    assert len(calls) == 4 and waits == [2.0, 4.0, 8.0]
    assert "storing a.pdf attempt 1/4 failed (timeout 0)" in caplog.text


def test_bad_input_and_bugs_are_not_retried():
    for exc in (CorruptFileError("not a PDF"), ValueError("a bug")):
        fn, calls = _flaky([exc])
        with pytest.raises(type(exc)):
            retrying.call(fn, sleep=lambda s: pytest.fail("no wait for a non-transient error"))
        assert len(calls) == 1


def test_jitter_stays_within_its_fraction():
    fn, _ = _flaky([TransientError("x")] * 3)
    waits: list[float] = []
    retrying.call(fn, sleep=waits.append, jitter=0.5)
    for wait, nominal in zip(waits, retrying.delays()):
        assert 0.5 * nominal <= wait <= 1.5 * nominal


def test_wrap_keeps_the_stage_signature():
    fn, calls = _flaky([TransientError("x")], result=42)
    wrapped = retrying.wrap(fn, "chunking a.pdf", sleep=lambda s: None)
    assert wrapped("clean", "settings") == 42
    assert calls == [(("clean", "settings"), {})] * 2


def test_retried_stages_wrap_every_stage_and_keep_its_result():
    from dataclasses import fields

    from lexprep.pipeline import Stages

    fn, calls = _flaky([TransientError("x")], result="chunks")
    stages = Stages(chunk=fn).retried("a.pdf", sleep=lambda s: None)
    assert stages.chunk("clean", "settings") == "chunks" and len(calls) == 2
    assert all(getattr(stages, f.name).__name__ for f in fields(stages))
    assert stages.clean.__doc__ == Stages().clean.__doc__
