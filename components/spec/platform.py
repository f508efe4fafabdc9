"""`inference-ra:scheduling`, `inference-ra:observability` and `inference-ra:policy`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from components.spec.base import SpecModel
from components.spec.types import NAME_PATTERN, Cidr, DnsLabel, UniqueList


class QueueSpec(SpecModel):
    name: str = Field(pattern=NAME_PATTERN, description="Tenant / KAI queue name.")
    namespace: DnsLabel | None = Field(None, description="Tenant namespace (default: the queue name).")
    gpu_quota: int = Field(0, ge=0, description="Guaranteed GPUs (KAI deserved quota).")
    gpu_limit: int | None = Field(None, ge=0, description="GPU limit (default: no limit).")
    over_quota_weight: int = Field(1, ge=0, description="Share of idle GPUs above quota.")
    priority: int | None = Field(None, description="Queue priority (KAI default 100; higher is served first).")
    admin_groups: UniqueList[str] = Field(
        default_factory=list,
        description="Identity-provider groups bound to the tenant's deployer Role (manage graphs in the namespace).",
    )
    viewer_groups: UniqueList[str] = Field(
        default_factory=list, description="Identity-provider groups bound to the tenant's read-only viewer Role."
    )
    ingress_from_namespaces: UniqueList[DnsLabel] = Field(
        default_factory=list,
        description="Namespaces allowed to reach the tenant's frontends and Triton servers (empty: any namespace).",
    )
    egress_cidrs: UniqueList[Cidr] = Field(
        default_factory=lambda: ["0.0.0.0/0"],
        description="Destinations of HTTPS egress (model hubs, object storage, kube-apiserver); narrow it to "
        "your proxy, mirror and API endpoint CIDRs.",
    )
    cpu: int | None = Field(None, ge=1, description="ResourceQuota on CPU requests, cores (absent: none).")
    memory_gi: int | None = Field(None, ge=1, description="ResourceQuota on memory requests, GiB (absent: none).")
    max_pods: int | None = Field(None, ge=1, description="ResourceQuota on pods (absent: none).")
    load_balancers: int = Field(
        0, ge=0, description="Services of type LoadBalancer the tenant may create (0: expose through the gateway)."
    )

    @property
    def resolved_namespace(self) -> str:
        return self.namespace or self.name


class SchedulingSpec(SpecModel):
    queues: list[QueueSpec] = Field(default_factory=list, description="Tenants and their GPU queues.")
    parent_queue: str = Field(
        "inference-ra",
        pattern=NAME_PATTERN,
        description="KAI parent (department) queue the tenant queues hang under; KAI schedules only leaf queues.",
    )
    topology_aware: bool = Field(False, description="Place multinode replicas within racks / NVLink domains.")


class PrometheusSpec(SpecModel):
    mode: Literal["deploy", "external"] = Field(
        "deploy", description="Deploy kube-prometheus-stack, or use an existing Prometheus at `url`."
    )
    url: str | None = Field(
        None, pattern=r"^https?://[^\s/]+(/\S*)?$", description="Existing Prometheus URL (mode external)."
    )
    retention: str = Field("15d", pattern=r"^\d+[hdwy]$", description="Metrics retention.")
    storage_gi: int = Field(100, ge=1, description="Prometheus volume size, GiB.")
    namespace: DnsLabel = Field("monitoring", description="Namespace of the monitoring stack.")
    operator_crds: bool = Field(
        True,
        description="Render PodMonitors, ServiceMonitors and PrometheusRules (mode external: the existing "
        "Prometheus is run by prometheus-operator and watches this stack's monitoring namespace).",
    )


class ObservabilitySpec(SpecModel):
    enabled: bool = Field(True, description="Metrics, alerts and dashboards.")
    prometheus: PrometheusSpec = Field(default_factory=PrometheusSpec, description="Prometheus.")
    grafana: bool = Field(True, description="Grafana with sidecar-loaded dashboards (mode deploy).")
    alerts: bool = Field(True, description="SLO and fleet alert rules.")


class PriceOverridesSpec(SpecModel):
    node_hour_usd: dict[str, float] = Field(
        default_factory=dict,
        description="Price of one node-hour in USD by node type (catalog key), replacing the list price.",
    )
    storage_gb_month_usd: dict[str, float] = Field(
        default_factory=dict,
        description="Storage price in USD per GB-month by price key (fsx-lustre-<MBps/TiB>, ebs-gp3, s3-standard, "
        "onprem-parallel-fs).",
    )
    source: str | None = Field(None, description="Where these prices come from (contract, rate card, date).")


class PolicySpec(SpecModel):
    enforcement: dict[str, Literal["advisory", "mandatory", "disabled"]] = Field(
        default_factory=dict, description="Per-rule enforcement level overrides, by rule name."
    )
    config: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per-rule configuration, by rule name.")
    allowed_registries: UniqueList[str] = Field(
        default_factory=list,
        description="Registries (host) or repository prefixes (host/path, e.g. nvcr.io/nvidia) images may come from "
        "besides the repositories of the images the stack pins (components/catalog/versions.py IMAGES).",
    )
    api_server_cidrs: UniqueList[Cidr] | None = Field(
        None,
        description="CIDRs of the Kubernetes API endpoint, the only egress NetworkPolicies give pods that call the "
        "API (Dynamo discovery, the burn-in). Default: the VPC CIDR on aws; 0.0.0.0/0 on existing clusters, whose "
        "API address the spec does not know (set it to narrow).",
    )
    max_hourly_cost_usd: float | None = Field(None, gt=0, description="Cost cap of the stack, $/hour.")
    prices: PriceOverridesSpec = Field(
        default_factory=PriceOverridesSpec,
        description="Overrides of the price catalog (components/catalog/prices.py) for cost estimates.",
    )
