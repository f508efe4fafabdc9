"""checkov's Kubernetes checks (issue 19 item 8): the finding classes this project accepts, each with its reason,
and which objects may carry each. tests/policies/test_checkov.py runs checkov once over every shipped stack's
manifests and fails on any finding not listed here; docs/policy.md shows the table and the before/after counts.
Classes checkov caught that the pack missed got a fix or a rule (docs/policy.md, "checkov as a second opinion").
"""

from __future__ import annotations

# check id -> (reason, manifest file name prefixes it may appear on; empty = any pod-bearing object)
ACCEPTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "CKV_K8S_43": ("images are pinned by version tag; digests are reported by rule images-digest-pinned until the "
                   "catalog records them", ()),
    "CKV_K8S_15": ("imagePullPolicy Always re-pulls multi-GB GPU images on every restart; pinned tags make "
                   "IfNotPresent safe", ()),
    "CKV_K8S_11": ("no CPU limits: CFS throttling hurts latency-critical and burn-in work (rule container-resources "
                   "requireCpuLimit opts in)", ()),
    "CKV_K8S_38": ("the token is mounted only where the pod calls the API: the burn-in labels its node, the node "
                   "labeller labels/taints nodes, local-path-provisioner creates PVs",
                   ("DaemonSet-gpu-acceptance-", "CronJob-inference-ra-node-labeller-", "Deployment-local-path-")),
    "CKV_K8S_22": ("writable root filesystem for engines, download and benchmark tools that write caches under "
                   "their image paths; the burn-in's report container is read-only", ()),
    "CKV_K8S_40": ("the image's own non-root user (UID 1000 Dynamo/Triton/default) rather than a >10000 UID, so "
                   "files on the shared model cache keep one owner", ()),
    "CKV_K8S_8": ("the burn-in's readiness is its init container passing; local-path-provisioner is upstream's "
                  "manifest", ("DaemonSet-gpu-acceptance-", "Deployment-local-path-")),
    "CKV_K8S_9": ("as CKV_K8S_8", ("DaemonSet-gpu-acceptance-", "Deployment-local-path-")),
    "CKV_K8S_35": ("hub tokens come from a Secret through env (valueFrom.secretKeyRef), which the hub clients read "
                   "(HF_TOKEN, NGC_CLI_API_KEY); never literals (rule no-secret-literals)", ()),
    # upstream rancher/local-path-provisioner v0.0.32 manifest in kube-system (storage/nvme.py): root helper pods
    "CKV_K8S_23": ("local-path-provisioner (kube-system, privileged namespace) is upstream's manifest and creates "
                   "host directories", ("Deployment-local-path-",)),
    "CKV_K8S_28": ("as CKV_K8S_23", ("Deployment-local-path-",)),
    "CKV_K8S_29": ("as CKV_K8S_23", ("Deployment-local-path-",)),
    "CKV_K8S_31": ("as CKV_K8S_23", ("Deployment-local-path-",)),
    "CKV_K8S_37": ("as CKV_K8S_23", ("Deployment-local-path-",)),
}  # fmt: skip
