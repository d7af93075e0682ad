"""Prefect tasks: thin wrappers over lexprep's Prefect-free core that add retries, names and logging.

Only :class:`lexprep.errors.TransientError` is retried (exponential backoff with jitter); bad input
fails fast. No task caches its result: identity and re-run skipping are the store's job (content hash).
"""
