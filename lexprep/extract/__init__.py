"""Extraction: one module per format, and a router that sniffs content, not the extension.

``sniff(data, file_name) -> (kind, mime)``; ``extract(data, file_name, kind, settings) -> ExtractedDocument``.
"""

from lexprep.extract.router import extract
from lexprep.extract.sniff import sniff

__all__ = ["extract", "sniff"]
