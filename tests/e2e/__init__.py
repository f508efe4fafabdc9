"""`make e2e`: the real Pulumi engine against a local Kubernetes API server (see run.py)."""
