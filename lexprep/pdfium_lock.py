"""PDFium is not thread-safe: every pypdfium2 call in this process holds :data:`PDFIUM_LOCK`.

Documents are processed in several threads of the flow (and OCR may run in-process), so extraction and
rendering share this one re-entrant lock. Seen without it: an intermittent segmentation fault when
several PDFs were extracted at once.
"""

import threading

PDFIUM_LOCK = threading.RLock()
