"""A fleet-sized stack spec for the scale benchmark: N GPU nodes in P pools, M models, every layer on.

The default fleet is what a large NCP region looks like: 1,024 GPU nodes in 16 pools of 64, on an existing
bare-metal cluster with an InfiniBand compute fabric, and 32 models served by Dynamo (plus Triton servers),
with KAI tenant queues, KEDA and Planner autoscaling, a Lustre model cache with prefetch, per-pool acceptance
gates, observability, optimization Jobs and AIPerf benchmarks.

Fabrics. One stack has exactly one compute fabric (`network.fabric`), so "mixed fabrics" are expressed two ways:
- within one stack, pools of different node types have different rails per node (8 ConnectX-7 rails on DGX H100
  and HGX H200, 4 on a GB200 NVL72 tray: `StackSpec.rails_per_node` follows the node catalog);
- across stacks, `provider="aws"` generates the EFA variant of the fleet (EKS, p5/p5e/p5en pools with 32/32/16
  EFA interfaces, FSx for Lustre), which exercises the cloud resources (VPC, node groups, launch templates, IAM).
A region that runs both is two stacks; the benchmark measures either (`--provider`).

Node types cycle H100 / H200 / GB200 (bare metal: dgx-h100, hgx-h200-8gpu, gb200-nvl72-tray; aws: p5.48xlarge,
p5e.48xlarge, p5en.48xlarge). Models cycle over a mix that hits every serving path: aggregated vLLM with KVBM
host/disk tiers, disaggregated prefill/decode, multinode SGLang MoE on GB200, TensorRT-LLM with an engine build,
FP8 quantization Jobs, KEDA and Planner-SLA autoscaling, benchmarks.

    from bench.fleet import fleet_config, fleet_stack_file
    sf = fleet_stack_file(nodes=1024, pools=16, models=32)     # a components.loader.StackFile, in memory
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from components.loader import NAMESPACE, StackFile

# (pool kind, bare-metal node type, aws instance type, gpu, gpus per node)
_NODE_KINDS: tuple[tuple[str, str, str, str, int], ...] = (
    ("h100", "dgx-h100", "p5.48xlarge", "h100-sxm-80gb", 8),
    ("h200", "hgx-h200-8gpu", "p5e.48xlarge", "h200-sxm-141gb", 8),
    ("gb200", "gb200-nvl72-tray", "p5en.48xlarge", "gb200", 4),
)
_AWS_GPU = {"p5.48xlarge": "h100-sxm-80gb", "p5e.48xlarge": "h200-sxm-141gb", "p5en.48xlarge": "h200-sxm-141gb"}


def _model_templates(kind: str, gpus_per_node: int) -> list[dict[str, Any]]:
    """Model shapes that fit a pool of this kind (weights fit HBM, parallelism fits the node or is multinode)."""
    if kind == "gb200" and gpus_per_node == 4:
        return [
            {
                "base": "deepseek-r1",
                "model": "deepseek-ai/DeepSeek-R1",
                "architecture": "deepseek-r1",
                "engine": "sglang",
                "weightsDtype": "fp8",
                "kvDtype": "fp8",
                "mode": "disaggregated",
                "prefill": {"tensorParallel": 8, "replicas": 2, "multinode": True},
                "decode": {"tensorParallel": 16, "replicas": 1, "multinode": True, "expertParallel": True},
                "maxModelLen": 65536,
                "slo": {"ttftMs": 1000, "itlMs": 40, "isl": 8192, "osl": 1024},
                "autoscaling": {"mode": "planner-sla", "minReplicas": 1, "maxReplicas": 4},
            },
            {
                "base": "gpt-oss",
                "model": "openai/gpt-oss-120b",
                "architecture": "gpt-oss-120b",
                "engine": "vllm",
                "weightsDtype": "mxfp4",
                "mode": "aggregated",
                "worker": {"tensorParallel": 2, "replicas": 2},
                "slo": {"ttftMs": 500, "itlMs": 20},
                "autoscaling": {"mode": "keda", "minReplicas": 2, "maxReplicas": 8},
                "benchmark": {"enabled": True, "concurrency": [1, 16, 64]},
            },
        ]
    return [
        {
            "base": "llama-70b",
            "model": "meta-llama/Llama-3.1-70B-Instruct",
            "architecture": "llama-3.1-70b",
            "engine": "vllm",
            "mode": "aggregated",
            "worker": {"tensorParallel": 4, "replicas": 2},
            "kvCache": {"connector": "kvbm", "cpuGi": 400, "diskGi": 2000},
            "slo": {"ttftMs": 400, "itlMs": 25},
            "autoscaling": {"mode": "keda", "minReplicas": 2, "maxReplicas": 8},
            "benchmark": {"enabled": True, "concurrency": [1, 16, 64]},
        },
        {
            "base": "llama-70b-fp8",
            "model": "RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic",
            "architecture": "llama-3.3-70b",
            "engine": "vllm",
            "weightsDtype": "fp8",
            "mode": "disaggregated",
            "prefill": {"tensorParallel": 2, "replicas": 2},
            "decode": {"tensorParallel": 4, "replicas": 1},
            "kvCache": {"connector": "kvbm", "cpuGi": 448, "diskGi": 2000},
            "slo": {"ttftMs": 500, "itlMs": 30, "isl": 4096, "osl": 512},
            "autoscaling": {"mode": "planner-sla", "minReplicas": 1, "maxReplicas": 8},
        },
        {
            "base": "qwen3-32b-trt",
            "model": "Qwen/Qwen3-32B",
            "architecture": "qwen3-32b",
            "engine": "trtllm",
            "mode": "aggregated",
            "worker": {"tensorParallel": 2, "replicas": 2},
            "optimization": {"quantize": {"format": "fp8"}, "trtllmEngine": True},
            "weightsDtype": "fp8",
            "slo": {"ttftMs": 300, "itlMs": 20},
            "autoscaling": {"mode": "keda", "minReplicas": 1, "maxReplicas": 6},
        },
        {
            "base": "llama-8b",
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "architecture": "llama-3.1-8b",
            "engine": "vllm",
            "mode": "aggregated",
            "worker": {"tensorParallel": 1, "replicas": 4},
            "slo": {"ttftMs": 200, "itlMs": 15},
            "autoscaling": {"mode": "keda", "minReplicas": 2, "maxReplicas": 16},
        },
    ]


def _fit_autoscaling(model: dict[str, Any], pool_gpus: int) -> None:
    """Clamp a template's replica bounds to the pool (small fleets): the autoscaling-fits-pool rule holds."""
    roles = [model[r] for r in ("worker", "prefill", "decode") if r in model]
    per_replica = max(w["tensorParallel"] * w.get("pipelineParallel", 1) * w.get("dataParallel", 1) for w in roles)
    fits = pool_gpus // per_replica
    if fits < 1:
        raise ValueError(f"model {model['name']} needs {per_replica} GPUs per replica; its pool has {pool_gpus}")
    scaling = model["autoscaling"] = dict(model["autoscaling"])
    scaling["maxReplicas"] = min(scaling["maxReplicas"], fits)
    scaling["minReplicas"] = min(scaling["minReplicas"], scaling["maxReplicas"])
    for role in ("worker", "prefill", "decode"):
        if role in model:
            model[role] = {**model[role], "replicas": min(model[role]["replicas"], fits)}


def fleet_config(
    nodes: int = 1024, pools: int = 16, models: int = 32, *, provider: str = "existing", tenants: int = 8
) -> dict[str, Any]:
    """The `inference-ra:` config (keys without namespace) of a fleet of `nodes` GPU nodes in `pools` pools."""
    if pools < 1 or nodes < pools or models < 1:
        raise ValueError(
            f"need nodes >= pools >= 1 and models >= 1 (got nodes={nodes}, pools={pools}, models={models})"
        )
    if provider not in ("existing", "aws"):
        raise ValueError(f"provider must be existing or aws (got {provider!r})")
    aws = provider == "aws"
    per_pool = [nodes // pools + (1 if i < nodes % pools else 0) for i in range(pools)]
    tenants = max(1, min(tenants, models))
    gpu_pools: list[dict[str, Any]] = []
    kinds: list[tuple[str, int]] = []
    total_gpus = 0
    zones = ["us-east-2a", "us-east-2b", "us-east-2c"]
    for i in range(pools):
        kind, metal, instance, gpu, gpus_per_node = _NODE_KINDS[i % len(_NODE_KINDS)]
        name = f"{kind}-{i:02d}"
        n = per_pool[i]
        pool: dict[str, Any] = {
            "name": name,
            "gpu": _AWS_GPU[instance] if aws else gpu,
            "instanceType": instance if aws else metal,
            "nodes": {"min": n, "max": n},
            "localNvme": {"raid0": True},
            "acceptance": {"enabled": True, "gate": True},
            "labels": {"fleet.example.com/pool-index": str(i)},
        }
        if aws:
            pool["availabilityZone"] = zones[i % len(zones)]
            pool["capacity"] = {"type": "capacity-reservation", "reservationId": f"cr-{i:017x}"}
            gpus_per_node = 8
            kind = "h100" if instance == "p5.48xlarge" else "h200"
        else:
            # an explicit inventory: one NodePatch per node (labels, taints), so the plan grows with the fleet
            pool["nodeNames"] = [f"{name}-node-{j:03d}" for j in range(n)]
            if kind == "gb200":
                pool["computeDomain"] = True
        gpu_pools.append(pool)
        kinds.append((kind, gpus_per_node))
        total_gpus += n * gpus_per_node

    queues = [
        {"name": f"tenant-{t:02d}", "gpuQuota": total_gpus // (2 * tenants), "overQuotaWeight": 1 + t % 3}
        for t in range(tenants)
    ]
    model_specs: list[dict[str, Any]] = []
    prefetch: list[str] = []
    for m in range(models):
        p = m % pools
        kind, gpus_per_node = kinds[p]
        templates = _model_templates(kind, gpus_per_node)
        template = dict(templates[(m // pools) % len(templates)])
        base = template.pop("base")
        spec = {"name": f"{base}-{m:02d}", "pool": gpu_pools[p]["name"], "tenant": f"tenant-{m % tenants:02d}"}
        spec.update(template)
        _fit_autoscaling(spec, per_pool[p] * gpus_per_node)
        model_specs.append(spec)
        if spec["model"] not in prefetch:
            prefetch.append(spec["model"])
    triton = [
        {
            "name": f"ranker-{t:02d}",
            "repository": f"s3://fleet-models/triton/ranker-{t:02d}",
            "backends": ["onnxruntime", "tensorrt"],
            "pool": gpu_pools[t % pools]["name"],
            "gpus": 1,
            "replicas": 1,
            "maxReplicas": 4,
            "namespace": f"tenant-{t % tenants:02d}",
        }
        for t in range(max(1, models // 8))
    ]
    if not aws:
        for t in triton:
            t["s3Endpoint"] = "https://s3.fleet.example.com:443"
            t["s3CredentialsSecret"] = "triton-s3-credentials"

    config: dict[str, Any] = {
        "cluster": {"provider": provider, "name": "fleet", "kubernetesVersion": "1.33"},
        "gpuPools": gpu_pools,
        "gpuOperator": {"version": "v26.7.0", "driver": {"version": "580.95.05"}, "gds": not aws, "rdma": not aws},
        "serving": {
            "dynamo": {"version": "1.4.0", "grove": True, "kaiScheduler": True},
            "models": model_specs,
            "triton": triton,
        },
        "scheduling": {"queues": queues, "topologyAware": True},
        "observability": {"prometheus": {"retention": "30d", "storageGi": 2000}},
    }
    if aws:
        config["cluster"].update(
            {
                "endpointPublicAccess": True,
                "publicAccessCidrs": ["203.0.113.0/24"],
                "systemNodes": {"instanceType": "m7i.4xlarge", "min": 3, "desired": 3, "max": 6},
            }
        )
        config["network"] = {
            "vpcCidr": "10.0.0.0/16",
            "availabilityZones": zones,
            "natGateways": "per-az",
            "fabric": {"type": "efa"},
        }
        config["storage"] = {
            "parallelFs": {"type": "fsx-lustre", "capacityTiB": 96, "throughputMBpsPerTiB": 1000, "efa": True},
            "modelCache": {"sizeGi": 8192, "prefetch": prefetch},
            "coldStartSeconds": 900,
        }
    else:
        config["cluster"]["nodeOs"] = "ubuntu-24.04"
        config["network"] = {
            "fabric": {
                "type": "infiniband",
                "linkSpeedGbps": 400,
                "devices": [f"mlx5_{i}" for i in range(8)],
                "interfaces": [
                    "ibp24s0",
                    "ibp64s0",
                    "ibp79s0",
                    "ibp94s0",
                    "ibp154s0",
                    "ibp192s0",
                    "ibp206s0",
                    "ibp220s0",
                ],
                "pkey": "0x7fff",
                "driver": "doca",
                "ipam": {"cidr": "10.128.0.0/12", "perNodeBlockSize": 16},
            },
            "topology": {"enabled": True},
        }
        config["storage"] = {
            "parallelFs": {
                "type": "lustre",
                "capacityTiB": 8000,
                "aggregateReadGBps": 1600,
                "csi": {"server": "10.10.0.10@o2ib", "path": "/lustrefs"},
            },
            "modelCache": {"sizeGi": 16384, "prefetch": prefetch},
            "coldStartSeconds": 900,
        }
    return config


def fleet_stack_file(
    nodes: int = 1024, pools: int = 16, models: int = 32, *, provider: str = "existing", name: str = "fleet"
) -> StackFile:
    """The fleet as an in-memory StackFile (what `inference-ra synth` reads from Pulumi.<stack>.yaml)."""
    config = fleet_config(nodes, pools, models, provider=provider)
    full: dict[str, Any] = {f"{NAMESPACE}:{k}": v for k, v in config.items()}
    if provider == "aws":
        full["aws:region"] = "us-east-2"
    return StackFile(name=name, path=Path(f"<memory:{name}>"), config=full)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a fleet-sized Pulumi.<stack>.yaml to stdout or --out.")
    parser.add_argument("--nodes", type=int, default=1024)
    parser.add_argument("--pools", type=int, default=16)
    parser.add_argument("--models", type=int, default=32)
    parser.add_argument("--provider", choices=("existing", "aws"), default="existing")
    parser.add_argument("--out", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    sf = fleet_stack_file(args.nodes, args.pools, args.models, provider=args.provider)
    text = yaml.safe_dump({"config": sf.config}, sort_keys=False, width=120)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
