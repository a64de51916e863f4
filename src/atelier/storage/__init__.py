"""fsspec-backed blob storage: content-addressed objects, atomic writes, safe paths."""
