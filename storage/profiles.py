"""Parallel filesystems as typed data: which CSI driver serves each, how its StorageClass and static volumes look,
and whether it can feed GPUs directly (GPUDirect Storage).

One profile per `storage.parallelFs.type`. Builders ask a profile; nothing else branches on the vendor. Sources:
- lustre: DDN EXAScaler CSI driver (DDNStorage/exa-csi-driver README: `exa.csi.ddn.com`, StorageClass parameters
  `exaFS`/`mountPoint`/`bindMount`, static handle `<config>:<path>`); DDN EXAScaler is the Lustre appliance of
  NVIDIA's DGX SuperPOD / NCP reference storage, and the driver supports dynamic and static volumes.
- weka: WEKA CSI plugin (weka/csi-wekafs: `csi.weka.io`, `volumeType: dir/v1`, `filesystemName`,
  `capacityEnforcement`, API secret in `csi.storage.k8s.io/*-secret-*`; static handle `dir/v1/<fs>/<dir>`).
- vast: VAST CSI driver (vast-data/vast-csi: `csi.vastdata.com`, parameters `vip_pool_name`, `root_export`,
  `view_policy`); static handles come from VAST tooling, so the spec must carry them.
- gpfs: IBM Storage Scale CSI (IBM/ibm-spectrum-scale-csi: `spectrumscale.csi.ibm.com`, `volBackendFs`,
  `volDirBasePath`); static handles embed the cluster id and filesystem UUID (tools/generate_static_provisioning_
  yamls.sh), so the spec must carry them.
- nfs: kubernetes-csi/csi-driver-nfs (`nfs.csi.k8s.io`, parameters `server`/`share`/`subDir`; static handle
  `server#share#subdir#name`, unique per PV as its docs require).
GDS: NVIDIA GPUDirect Storage support matrix (Lustre/EXAScaler, WekaFS, VAST over NFS/RDMA, IBM Storage Scale; NFS
only over RDMA) and AWS (FSx for Lustre with EFA enabled supports GDS on P5/P5e/P5en/P6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from components.spec.storage import CsiSpec, ParallelFsSpec

CSI_TYPES: tuple[str, ...] = ("lustre", "weka", "vast", "gpfs", "nfs")
FSX_DRIVER = "fsx.csi.aws.com"


@dataclass(frozen=True)
class CsiProfile:
    type: str
    vendor: str
    driver: str
    mount_options: tuple[str, ...]  # defaults, before csi.mountOptions
    gds: bool  # GPUDirect Storage over this filesystem's native client
    needs: tuple[str, ...]  # CsiSpec fields that must be set (camelCase, for messages)
    driver_namespace: str  # where the vendor installs its driver (default secretNamespace)
    reclaim_policy: str = "Retain"
    source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


PROFILES: dict[str, CsiProfile] = {
    p.type: p
    for p in (
        CsiProfile(
            "lustre",
            "DDN EXAScaler (Lustre)",
            "exa.csi.ddn.com",
            ("flock",),
            True,
            ("server", "path"),
            "kube-system",
            source="DDNStorage/exa-csi-driver README (StorageClass/PersistentVolume parameters)",
        ),
        CsiProfile(
            "weka",
            "WEKA",
            "csi.weka.io",
            (),
            True,
            ("path", "secretName"),
            "csi-wekafs",
            source="weka/csi-wekafs examples (dir/v1 StorageClass, static volumes)",
        ),
        CsiProfile(
            "vast",
            "VAST Data",
            "csi.vastdata.com",
            ("nconnect=16",),
            True,
            ("volumeHandle",),
            "vast-csi",
            source="vast-data/vast-csi chart (StorageClass parameters)",
        ),
        CsiProfile(
            "gpfs",
            "IBM Storage Scale (GPFS)",
            "spectrumscale.csi.ibm.com",
            (),
            True,
            ("path", "volumeHandle"),
            "ibm-spectrum-scale-csi-driver",
            source="IBM/ibm-spectrum-scale-csi README.driver.md (storageClass parameters, static provisioning)",
        ),
        CsiProfile(
            "nfs",
            "NFS (csi-driver-nfs)",
            "nfs.csi.k8s.io",
            ("nfsvers=4.1", "nconnect=16", "hard"),
            False,
            ("server", "path"),
            "kube-system",
            source="kubernetes-csi/csi-driver-nfs docs (driver parameters, static PV)",
        ),
    )
}


def supports_gds(fs: ParallelFsSpec) -> bool:
    """Whether GPUs can read this filesystem with GPUDirect Storage (the GPU Operator's `gds` is only useful then).

    NFS qualifies only when mounted over RDMA (`proto=rdma`); FSx for Lustre only when EFA is enabled.
    """
    if fs.type == "fsx-lustre":
        return fs.efa
    if fs.type == "nfs":
        return any(o.replace(" ", "") == "proto=rdma" for o in fs.csi.mount_options)
    profile = PROFILES.get(fs.type)
    return bool(profile and profile.gds)


def storage_class_name(fs: ParallelFsSpec) -> str:
    """StorageClass of a CSI-backed parallel filesystem (the model cache's default class)."""
    return f"{fs.type}-rwx"


def _secret_params(csi: CsiSpec, profile: CsiProfile) -> dict[str, str]:
    if not csi.secret_name:
        return {}
    ns = csi.secret_namespace or profile.driver_namespace
    out: dict[str, str] = {}
    for op in ("provisioner", "controller-publish", "controller-expand", "node-stage", "node-publish"):
        out[f"csi.storage.k8s.io/{op}-secret-name"] = csi.secret_name
        out[f"csi.storage.k8s.io/{op}-secret-namespace"] = ns
    return out


def storage_class_parameters(fs: ParallelFsSpec) -> dict[str, str]:
    """StorageClass parameters of the vendor driver (dynamic volumes), with csi.parameters merged last."""
    profile, csi = PROFILES[fs.type], fs.csi
    params: dict[str, str]
    if fs.type == "lustre":
        params = {"exaFS": f"{csi.server}:{csi.path}", "mountPoint": "/exaFS", "bindMount": "true"}
    elif fs.type == "weka":
        params = {"volumeType": "dir/v1", "filesystemName": str(csi.path), "capacityEnforcement": "HARD"}
    elif fs.type == "vast":
        params = {"root_export": csi.path or "/k8s", "view_policy": "default"}
        if csi.server:
            params["vip_pool_name"] = csi.server
    elif fs.type == "gpfs":
        params = {"volBackendFs": str(csi.path), "volDirBasePath": "k8s-volumes"}
    else:  # nfs
        params = {"server": str(csi.server), "share": str(csi.path)}
    params.update(_secret_params(csi, profile))
    params.update(csi.parameters)
    return params


def mount_options(fs: ParallelFsSpec) -> list[str]:
    profile = PROFILES[fs.type]
    opts = list(profile.mount_options)
    opts += [o for o in fs.csi.mount_options if o not in opts]
    return opts


def static_volume(fs: ParallelFsSpec, namespace: str) -> dict[str, object]:
    """The `csi` block of a static PersistentVolume on the model-cache directory, for one namespace.

    Every namespace gets its own PV on the same directory: PVCs are namespaced and a PV binds one claim.
    """
    profile, csi = PROFILES[fs.type], fs.csi
    attrs: dict[str, str] = {}
    if fs.type == "lustre":
        mount_point = csi.parameters.get("mountPoint", "/exaFS")
        config = csi.parameters.get("configName", "exa1")
        handle = csi.volume_handle or f"{config}:{mount_point}/{csi.sub_dir}"
        attrs = {"exaFS": f"{csi.server}:{csi.path}", "mountPoint": mount_point}
    elif fs.type == "weka":
        handle = csi.volume_handle or f"dir/v1/{csi.path}/{csi.sub_dir}"
    elif fs.type == "nfs":
        # csi-driver-nfs requires a handle unique per PV; the mount itself comes from the attributes.
        handle = csi.volume_handle or f"{csi.server}#{csi.path}#{csi.sub_dir}#{namespace}"
        attrs = {"server": str(csi.server), "share": str(csi.path), "subDir": csi.sub_dir}
    else:  # vast, gpfs: the vendor's tooling prints the handle; the rules make sure it is set
        handle = str(csi.volume_handle)
    attrs.update(csi.volume_attributes)
    out: dict[str, object] = {"driver": profile.driver, "volumeHandle": handle}
    if attrs:
        out["volumeAttributes"] = attrs
    if csi.secret_name:
        out["nodePublishSecretRef"] = {
            "name": csi.secret_name,
            "namespace": csi.secret_namespace or profile.driver_namespace,
        }
    return out
