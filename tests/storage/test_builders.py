"""Pure builders: CSI profiles, the NVMe volumes, the cache claims and the prefetch Jobs."""

from __future__ import annotations

import json

import pytest

from components.constants import HF_HOME, MODEL_CACHE_CLAIM
from components.spec import StackSpec
from components.spec.storage import ParallelFsSpec, PrefetchSpec
from gpu_nodepools.aws_pools import local_nvme_host_path
from storage import cache, nvme, profiles
from tests.storage.conftest import make_spec

CSI = {
    "lustre": {"server": "10.10.0.10@o2ib", "path": "/lustrefs"},
    "weka": {"path": "models", "secretName": "csi-wekafs-api-secret"},
    "vast": {"server": "vippool-1", "path": "/k8s", "volumeHandle": "models-view"},
    "gpfs": {"path": "gpfs0", "volumeHandle": "0;0;7118073361626808055;09004A63:5DE6D09D;;;/ibm/gpfs0/models"},
    "nfs": {"server": "nfs.example.com", "path": "/export/models"},
}


def fs(kind: str, **csi: object) -> ParallelFsSpec:
    return ParallelFsSpec.model_validate({"type": kind, "csi": {**CSI[kind], **csi}})


# ---- CSI profiles ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "driver", "params"),
    [
        ("lustre", "exa.csi.ddn.com", {"exaFS": "10.10.0.10@o2ib:/lustrefs", "mountPoint": "/exaFS"}),
        ("weka", "csi.weka.io", {"volumeType": "dir/v1", "filesystemName": "models", "capacityEnforcement": "HARD"}),
        ("vast", "csi.vastdata.com", {"vip_pool_name": "vippool-1", "root_export": "/k8s"}),
        ("gpfs", "spectrumscale.csi.ibm.com", {"volBackendFs": "gpfs0"}),
        ("nfs", "nfs.csi.k8s.io", {"server": "nfs.example.com", "share": "/export/models"}),
    ],
)
def test_profile_driver_and_storage_class_parameters(kind: str, driver: str, params: dict[str, str]) -> None:
    assert profiles.PROFILES[kind].driver == driver
    got = profiles.storage_class_parameters(fs(kind))
    assert {k: got[k] for k in params} == params


def test_weka_secret_goes_to_every_csi_operation() -> None:
    params = profiles.storage_class_parameters(fs("weka"))
    assert params["csi.storage.k8s.io/node-publish-secret-name"] == "csi-wekafs-api-secret"
    assert params["csi.storage.k8s.io/provisioner-secret-namespace"] == "csi-wekafs"


def test_extra_parameters_override_the_profile() -> None:
    params = profiles.storage_class_parameters(fs("lustre", parameters={"mountPoint": "/mnt/exa", "configName": "a"}))
    assert params["mountPoint"] == "/mnt/exa" and params["configName"] == "a"


@pytest.mark.parametrize(
    ("kind", "handle"),
    [
        ("lustre", "exa1:/exaFS/model-cache"),
        ("weka", "dir/v1/models/model-cache"),
        ("vast", "models-view"),
        ("gpfs", "0;0;7118073361626808055;09004A63:5DE6D09D;;;/ibm/gpfs0/models"),
        ("nfs", "nfs.example.com#/export/models#model-cache#team-a"),
    ],
)
def test_profile_static_volume_handle(kind: str, handle: str) -> None:
    assert profiles.static_volume(fs(kind), "team-a")["volumeHandle"] == handle


def test_nfs_static_volume_mounts_from_attributes_and_is_unique_per_namespace() -> None:
    a, b = (profiles.static_volume(fs("nfs"), ns) for ns in ("team-a", "team-b"))
    assert a["volumeAttributes"] == {"server": "nfs.example.com", "share": "/export/models", "subDir": "model-cache"}
    assert a["volumeHandle"] != b["volumeHandle"]


@pytest.mark.parametrize(
    ("spec", "gds"),
    [
        ({"type": "lustre"}, True),
        ({"type": "weka"}, True),
        ({"type": "vast"}, True),
        ({"type": "gpfs"}, True),
        ({"type": "nfs"}, False),
        ({"type": "nfs", "csi": {"mountOptions": ["proto=rdma"]}}, True),
        ({"type": "fsx-lustre", "efa": True}, True),
        ({"type": "fsx-lustre"}, False),
        ({"type": "none"}, False),
    ],
)
def test_supports_gds(spec: dict[str, object], gds: bool) -> None:
    assert profiles.supports_gds(ParallelFsSpec.model_validate(spec)) is gds


def test_mount_options_append_user_options_once() -> None:
    assert profiles.mount_options(fs("nfs", mountOptions=["hard", "rsize=1048576"])) == [
        "nfsvers=4.1",
        "nconnect=16",
        "hard",
        "rsize=1048576",
    ]


# ---- local NVMe --------------------------------------------------------------------------------------------------
def test_kv_disk_volume_is_a_generic_ephemeral_volume_on_the_nvme_class() -> None:
    from serving.kv import kv_disk_volume

    spec = make_spec("aws-h100")
    vol = kv_disk_volume(nvme.storage_class_for(spec, spec.gpu_pools[0]), 1000, "kv-disk")
    claim = vol["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert vol["name"] == "kv-disk"
    assert claim == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "local-nvme",
        "resources": {"requests": {"storage": "1000Gi"}},
    }


def array_paths(spec: StackSpec) -> dict[str, str]:
    """What the compute layer reports as each pool's NVMe array mount."""
    return {p.name: path for p in spec.gpu_pools if (path := local_nvme_host_path(spec, p))}


def test_kv_disk_class_refuses_a_pool_without_nvme() -> None:
    spec = make_spec("aws-h100", gpuPools__0__localNvme=None, serving__models__0__kvCache={"connector": "none"})
    with pytest.raises(ValueError, match="no localNvme"):
        nvme.storage_class_for(spec, spec.gpu_pools[0])


def test_pools_on_another_mount_path_get_their_own_class() -> None:
    spec = make_spec("ncp-ib", gpuPools__1__localNvme={"mountPath": "/raid"})
    assert nvme.storage_classes(spec, array_paths(spec)) == {
        "local-nvme": "/mnt/nvme/local-path",
        "local-nvme-gb200": "/raid/local-path",
    }
    assert nvme.storage_class_for(spec, spec.gpu_pools[1]) == "local-nvme-gb200"


def test_provisioner_config_maps_each_class_to_its_path() -> None:
    spec = make_spec("ncp-ib")
    cm = next(m for m in nvme.manifests(spec, array_paths(spec)) if m["kind"] == "ConfigMap")
    config = json.loads(cm["data"]["config.json"])
    assert config == {
        "nodePathMap": [],
        "storageClassConfigs": {
            "local-nvme": {
                "nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES", "paths": ["/mnt/nvme/local-path"]}]
            }
        },
    }
    helper = json.loads(cm["data"]["helperPod.yaml"])
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in helper["spec"]["tolerations"]
    assert helper["spec"]["containers"][0]["image"] == "busybox:1.37.0"


def test_no_provisioner_without_nvme_pools() -> None:
    spec = make_spec("dev", gpuPools__0__localNvme=None)
    assert nvme.manifests(spec, array_paths(spec)) == []


def test_aws_volumes_go_to_the_array_nodeadm_mounts() -> None:
    spec = make_spec("aws-h100")
    assert nvme.storage_classes(spec, array_paths(spec)) == {"local-nvme": "/mnt/nvme/0/local-path"}


def test_a_pool_without_a_reported_array_path_is_an_error() -> None:
    spec = make_spec("aws-h100")
    with pytest.raises(ValueError, match="no array mount"):
        nvme.storage_classes(spec, {})


# ---- model cache -------------------------------------------------------------------------------------------------
def test_cache_namespaces_cover_models_triton_and_unused_prefetch() -> None:
    spec = make_spec(
        "ncp-ib",
        storage__modelCache__prefetch=[
            "deepseek-ai/DeepSeek-R1",
            {"uri": "Qwen/Qwen3-32B", "architecture": "qwen3-32b", "dtype": "bf16"},
        ],
    )
    assert cache.cache_namespaces(spec) == ["model-cache", "team-a", "team-b"]
    assert [(e.uri, ns) for e, ns in cache.prefetch_placements(spec)] == [
        ("deepseek-ai/DeepSeek-R1", "team-a"),
        ("Qwen/Qwen3-32B", "model-cache"),
    ]


def test_token_secrets_go_where_workers_or_prefetch_read_them() -> None:
    assert cache.token_namespaces(make_spec("ncp-ib")) == {"hf": ["team-a", "team-b"]}


def test_prefetch_job_is_idempotent_retrying_and_pinned() -> None:
    job = cache.prefetch_job(PrefetchSpec(uri="RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic"), "dynamo")
    assert job["metadata"]["name"] == "prefetch-redhatai-llama-3-3-70b-instruct-fp8-dynamic"
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in c["env"]}
    assert env["HF_HOME"] == HF_HOME
    assert env["PREFETCH_CLIENTS"] == "huggingface_hub==2.4.0"
    assert env["HF_TOKEN"] == {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN", "optional": True}}
    assert c["image"] == "python:3.12.11-slim-bookworm" and "latest" not in c["image"]
    assert pod["volumes"][0] == {"name": "model-cache", "persistentVolumeClaim": {"claimName": MODEL_CACHE_CLAIM}}
    assert job["spec"]["backoffLimit"] == 4 and pod["restartPolicy"] == "OnFailure"


def test_job_names_stay_dns_labels() -> None:
    name = cache.job_name(PrefetchSpec(source="s3", uri="s3://" + "a" * 80 + "/model"))
    assert len(name) <= 63 and name.startswith("prefetch-") and not name.endswith("-")


def test_prefetch_script_skips_complete_checkpoints_and_backs_off() -> None:
    from storage.prefetch import SCRIPT

    compile(SCRIPT, "prefetch.py", "exec")
    assert "if marker.exists():" in SCRIPT and "sys.exit(0)" in SCRIPT
    assert "15 * 2 ** (attempt - 1)" in SCRIPT and "(401, 403, 404)" in SCRIPT


def test_static_pv_is_retained_and_prebound() -> None:
    spec = make_spec("ncp-ib")
    pv = cache.static_pv(spec, "team-a", profiles.static_volume(spec.storage.parallel_fs, "team-a"), "lustre-rwx")
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["claimRef"]["namespace"] == "team-a" and pv["spec"]["claimRef"]["name"] == MODEL_CACHE_CLAIM
    assert pv["spec"]["capacity"] == {"storage": "4096Gi"}
