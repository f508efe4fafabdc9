"""Policy as code: the rules as importable functions (security, gpu, serving, storage, cost), the registry of
their metadata, the offline runner (`inference-ra check`) and the CrossGuard adapter (`policies/__main__.py`)."""
