"""lexprep_prefect.cluster: addresses, the SQLite refusal, batch sizes and the workers' settings (no cluster)."""

from __future__ import annotations

import pytest

from lexprep.errors import ConfigurationError
from lexprep.settings import Settings
from lexprep_prefect import cluster

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("given, expected", [
    (None, None), ("", None), ("  ", None), ("local", "local"), ("LOCAL", "local"),
    ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"), ("10.0.0.5:8786", "tcp://10.0.0.5:8786"),
    ("tls://sched:8786", "tls://sched:8786"),
])
def test_addresses(given, expected):
    assert cluster.normalized_address(given) == expected


@pytest.mark.parametrize("bad", ["s3://bucket", "scheduler", "http://host:8787"])
def test_an_address_that_is_not_one_is_refused(bad):
    with pytest.raises(ConfigurationError, match="give 'local' or a scheduler's tcp://host:port"):
        cluster.normalized_address(bad)


def test_a_remote_cluster_with_a_sqlite_store_is_refused_in_one_line():
    with pytest.raises(ConfigurationError) as info:
        cluster.check_store("tcp://10.0.0.5:8786", "sqlite:////data/lexprep.db")
    assert "cannot write to a SQLite file" in str(info.value) and "\n" not in str(info.value)
    cluster.check_store("local", "sqlite:////data/lexprep.db")  # same machine: allowed
    cluster.check_store("tcp://10.0.0.5:8786", "postgresql+psycopg://db/lexprep")


def test_batch_sizes():
    assert cluster.batch_size(130, 2) == 16  # ceil(130 / 8) = 17, capped at MAX_BATCH
    assert cluster.batch_size(40, 2) == 5
    assert cluster.batch_size(3, 8) == 1
    assert cluster.batch_size(0, 2) == 1
    assert cluster.batch_size(130, 2, configured=7) == 7
    assert cluster.batches(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]


def test_worker_settings_use_the_cluster_processes_and_keep_the_fingerprint():
    settings = Settings(ner={"workers": 4}, limits={"workers": 2}, ocr={"workers": 4})
    on_worker = cluster.worker_settings(settings)
    assert (on_worker.ner.workers, on_worker.limits.workers, on_worker.ocr.workers) == (0, 1, 1)
    assert on_worker.fingerprint() == settings.fingerprint()
    unsandboxed = cluster.worker_settings(Settings(limits={"workers": 0}))
    assert unsandboxed.limits.workers == 0  # no sandbox stays no sandbox


def test_outside_a_dask_worker_claims_are_this_process_s():
    from lexprep_prefect.tasks import documents

    assert not cluster.in_dask_worker()
    assert documents._claim("m", "abc") and not documents._claim("m", "abc")
    documents._release("m", "abc")
    assert documents._claim("m", "abc")
    documents._release("m", "abc")
