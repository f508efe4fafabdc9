"""Block volumes: the StorageClass of the stack's ReadWriteOnce claims (Prometheus' volume).

On EKS 1.30 and later no StorageClass is the cluster default (EKS no longer annotates `gp2`), so a claim without a
class stays Pending. On aws the stack creates one gp3 class for the EBS CSI driver (the `aws-ebs-csi-driver` add-on
the cluster layer installs) and marks it the cluster default, and every claim the stack renders names it:
- `type: gp3`, `encrypted: "true"` — parameters of the EBS CSI driver (kubernetes-sigs/aws-ebs-csi-driver
  docs/parameters.md); without `kmsKeyId` the volume uses the account's default EBS key (aws/ebs);
- `volumeBindingMode: WaitForFirstConsumer` — the volume is created in the zone of the node the pod is scheduled to
  (an EBS volume attaches only in its own AZ);
- `storageclass.kubernetes.io/is-default-class: "true"` — the DefaultStorageClass admission plugin gives it to
  claims of charts we do not render ourselves.
On an existing cluster the class is the cluster's (`storage.blockStorage.storageClass`); nothing is created.
"""

from __future__ import annotations

from components import k8s as kobj
from components.spec import StackSpec

EBS_CSI = "ebs.csi.aws.com"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
LABELS = {"app.kubernetes.io/part-of": "inference-ra", "inference-ra.nvidia.com/component": "block-storage"}


def block_storage_class(spec: StackSpec) -> str | None:
    """The class the stack's ReadWriteOnce claims name (None: unset on an existing cluster, the default applies)."""
    return spec.storage.block_storage.resolved_class(spec.cluster.provider)


def manifests(spec: StackSpec) -> list[kobj.Manifest]:
    """The gp3 StorageClass (aws only)."""
    name = block_storage_class(spec)
    if spec.cluster.provider != "aws" or name is None:
        return []
    return [
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": kobj.metadata(name, labels=LABELS, annotations={DEFAULT_CLASS_ANNOTATION: "true"}),
            "provisioner": EBS_CSI,
            "parameters": {"type": "gp3", "encrypted": "true"},
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": True,
        }
    ]
