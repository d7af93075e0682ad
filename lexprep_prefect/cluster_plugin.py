"""The Dask worker plugin of lexprep_prefect.cluster (imported only where a cluster is used: it imports Dask)."""

from __future__ import annotations

from distributed.diagnostics.plugin import WorkerPlugin


class WarmUp(WorkerPlugin):
    """A Dask worker plugin (``client.register_plugin``): each worker loads the NER backend's model and warms
    eyecite when it starts (or joins), so its first document does not wait for it."""

    name = "lexprep-warm-up"

    def __init__(self, ner_settings_json: str):
        self.ner_settings_json = ner_settings_json

    def setup(self, worker=None) -> None:
        from lexprep.ner.pool import warm_up
        from lexprep.settings import NerSettings

        try:
            warm_up(NerSettings.model_validate_json(self.ner_settings_json))
        except Exception:  # noqa: BLE001 - the first document reports a model that cannot load, as usual
            pass
