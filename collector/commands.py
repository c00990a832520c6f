"""The command names Help + Support writes in the collection lock and the history: kept apart from
collector.scheduler and collector.collect_now so a PEP collection, which only needs to recognise
them in a held lock, does not pay those modules' imports (about 30 ms of every `Get-AzureStackLog`)."""
from __future__ import annotations

AUTOMATIC_COMMAND = "Automatic collection"
COLLECT_NOW_COMMAND = "Collect logs now"
