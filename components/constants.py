"""Names several layers agree on. Changing one changes URNs and mounts across layers: do it here only."""

from __future__ import annotations

# The shared model cache: a RWX claim of this name in every namespace that serves models, mounted at this path.
MODEL_CACHE_CLAIM = "model-cache"
MODEL_CACHE_MOUNT = "/models"
HF_HOME = f"{MODEL_CACHE_MOUNT}/huggingface"  # prefetch Jobs and engines share the Hugging Face cache layout

# Secrets carrying model-hub tokens, one per namespace that needs them (keys HF_TOKEN / NGC_API_KEY).
HF_TOKEN_SECRET = "hf-token"
NGC_TOKEN_SECRET = "ngc-api-key"

# Node labels and taint of GPU pools.
POOL_LABEL = "inference-ra.nvidia.com/pool"
GPU_MODEL_LABEL = "inference-ra.nvidia.com/gpu"
FABRIC_LABEL = "inference-ra.nvidia.com/fabric"
ACCEPTANCE_LABEL = "inference-ra.nvidia.com/acceptance"  # "passed" | "failed", written by the burn-in
GPU_TAINT = {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
