"""Settings, the error tree, names, ids, statuses and the records every layer exchanges. No I/O."""
