"""lexprep: a legal matter's raw files -> RAG-ready text, chunks, entities and a relationship graph.

The package is Prefect-free: lexprep_prefect (flows/ and tasks/) composes it.
"""

__version__ = "0.1.0"

#: Bumped whenever a change to the core changes what is derived from a document. Stored on every
#: document so that a re-run knows which documents must be redone.
PIPELINE_VERSION = "3"
