"""The garbage collector, set for a long-running service process (`serve`, `worker`).

CPython's cyclic collector walks every tracked object of a generation; a full collection walks
the whole heap: the imported modules, the policies, SQLAlchemy's metadata and compiled
statements, pydantic's validators. A batch of a thousand events allocates enough to trigger one
such collection per batch, and with the default thresholds that walk took about a fifth of the
ingest's CPU (bench: 1,000 lead.created per `Live.ingest`, 326 -> 253 ms of CPU with the heap
frozen, 244 ms with the larger young generation as well).

So, once start-up is over: everything alive is moved out of the collector's sight
(`gc.freeze`: it stays alive, as it would have anyway), and the youngest generation is allowed
to grow larger before it is collected. Cyclic garbage is still collected, a little later.
`LEADCLOCK_GC_TUNING=0` keeps the interpreter's defaults.
"""

from __future__ import annotations

import gc
import os

YOUNG_THRESHOLD = 10_000  # objects allocated (net) before a young collection; CPython's default is 700
ENV = "LEADCLOCK_GC_TUNING"


def settle_heap(environ: dict[str, str] | None = None) -> bool:
    """Freeze what start-up left alive and raise the young generation's threshold; returns
    whether it did (not when `LEADCLOCK_GC_TUNING` is 0, false or no)."""
    value = (os.environ if environ is None else environ).get(ENV, "1").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_THRESHOLD, _young), middle, old)
    return True


__all__ = ["ENV", "YOUNG_THRESHOLD", "settle_heap"]
