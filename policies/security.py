"""Security rules: pod privileges, image provenance, container resources, secrets, network exposure, IMDS, EKS."""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from components.platform import PRIVILEGED_NAMESPACES
from policies.registry import SECRET, UNKNOWN, Resource, RuleContext, resource_rule, stack_rule
from policies.workloads import kind_of, mapping, name_of, namespace_of, pods

DEFAULT_REGISTRIES = ["nvcr.io", "registry.k8s.io", "quay.io", "ghcr.io", "docker.io", "public.ecr.aws"]
OPEN_V4, OPEN_V6 = "0.0.0.0/0", "::/0"


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


# ------------------------------------------------------------------------------------------------ pod privileges
@resource_rule(
    "no-privileged-pods",
    "No privileged container, hostNetwork, hostPID, hostIPC or hostPath volume outside the operator namespaces.",
    level="mandatory",
    severity="critical",
    config={
        "allowedNamespaces": {
            "type": "array",
            "items": {"type": "string"},
            "default": list(PRIVILEGED_NAMESPACES),
            "description": "Namespaces whose pods may be privileged (operators that manage drivers and devices).",
        }
    },
    remediation="Move the workload into an operator namespace, or drop the host access; RDMA needs only the "
    "IPC_LOCK capability and the device plugin's resources, not privileged mode.",
)
def no_privileged_pods(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    allowed = set(ctx.config.get("allowedNamespaces", []))
    for pod in pods(resource_type, props):
        if pod.namespace in allowed:
            continue
        where = f"in namespace {pod.namespace!r} (operator namespaces: {', '.join(sorted(allowed))})"
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.spec.get(flag) is True:
                yield f"{pod.path}.{flag} is true {where}; remove it"
        for i, vol in enumerate(_seq(pod.spec.get("volumes"))):
            if isinstance(vol, Mapping) and vol.get("hostPath") is not None:
                yield (
                    f"{pod.path}.volumes[{i}] ({vol.get('name')}) mounts hostPath "
                    f"{(vol.get('hostPath') or {}).get('path')!r} {where}; use a PVC or a local PV"
                )
        for c in pod.containers:
            sc = c.spec.get("securityContext")
            if isinstance(sc, Mapping):
                if sc.get("privileged") is True:
                    yield f"container {c.name!r} ({c.path}) is privileged {where}; add only the capabilities it needs"
                caps = sc.get("capabilities")
                added = {str(x) for x in _seq(caps.get("add"))} if isinstance(caps, Mapping) else set()
                if added & {"SYS_ADMIN", "ALL"}:
                    yield f"container {c.name!r} ({c.path}) adds {sorted(added & {'SYS_ADMIN', 'ALL'})} {where}"


# ------------------------------------------------------------------------------------------------ images
def split_image(image: str) -> tuple[str, str, str, str]:
    """(registry, repository, tag, digest) of an image reference, with Docker Hub defaults made explicit."""
    rest, _, digest = image.partition("@")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = "docker.io", rest
    last = path.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    repo = path[: len(path) - len(tag) - 1] if tag else path
    if registry == "docker.io" and "/" not in repo:
        repo = f"library/{repo}"
    return registry, repo, tag, digest


def _images(resource_type: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(container name, path, image) of every container of every pod template."""
    for pod in pods(resource_type, props):
        for c in pod.containers:
            yield c.name, c.path, str(c.spec.get("image") or "")


@resource_rule(
    "images-pinned",
    "Every container image is pinned to a version tag or a digest, never `latest` or untagged.",
    level="mandatory",
    severity="high",
    remediation="Pin the image, e.g. nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0 (or @sha256:...); versions live "
    "in components/catalog/versions.py IMAGES.",
)
def images_pinned(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    for cname, path, image in _images(resource_type, props):
        if not image:
            yield f"container {cname!r} ({path}) has no image"
            continue
        if image == UNKNOWN:
            continue
        _, _, tag, digest = split_image(image)
        if digest:
            continue
        if not tag:
            yield f"container {cname!r} ({path}) image {image!r} has no tag (means `latest`); pin a version or digest"
        elif tag == "latest":
            yield f"container {cname!r} ({path}) image {image!r} uses `latest`; pin a version or digest"


@resource_rule(
    "images-allowed-registries",
    "Every container image comes from an allowed registry (policy.allowedRegistries).",
    level="mandatory",
    severity="high",
    config={
        "allowedRegistries": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_REGISTRIES,
            "description": "Registries (host, or host/path prefix) images may come from; the stack's "
            "policy.allowedRegistries fills it.",
        }
    },
    remediation="Mirror the image into an allowed registry, or add its registry to policy.allowedRegistries.",
)
def images_allowed_registries(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    allowed = [str(a).rstrip("/") for a in ctx.config.get("allowedRegistries", [])]
    for cname, path, image in _images(resource_type, props):
        if not image or image == UNKNOWN:
            continue
        registry, repo, _, _ = split_image(image)
        full = f"{registry}/{repo}"
        if not any(full == a or full.startswith(a + "/") or registry == a for a in allowed):
            yield (
                f"container {cname!r} ({path}) image {image!r} is from registry {registry!r}, "
                f"not one of {', '.join(allowed)}"
            )


# Chart-rendered containers whose template sets no resources and reads no value for them; found by `make e2e`
# (`pulumi preview --policy-pack` evaluates chart-rendered objects): the Dynamo operator's `crd-apply` init
# container (dynamo-platform 1.4.0 components/operator/templates/deployment.yaml) and the NVIDIA DRA driver's
# kubelet-plugin `init-container` (dra-driver-nvidia-gpu 0.4.1 templates/kubeletplugin.yaml; values.yaml lists
# kubeletPlugin.containers.init.resources, which that template does not read).
EXEMPT_CONTAINERS = (
    "*/*-dynamo-operator-controller-manager/crd-apply",
    "*/*-kubelet-plugin/init-container",
)


@resource_rule(
    "container-resources",
    "Every container sets CPU and memory requests and a memory limit (and a CPU limit if configured).",
    level="mandatory",
    severity="medium",
    config={
        "requireCpuLimit": {
            "type": "boolean",
            "default": False,
            "description": "Also require limits.cpu (off by default: CPU limits throttle latency-critical engines).",
        },
        "exemptContainers": {
            "type": "array",
            "items": {"type": "string"},
            "default": list(EXEMPT_CONTAINERS),
            "description": "`namespace/workload/container` glob patterns of chart-rendered containers whose "
            "template sets no resources and exposes no value for them.",
        },
    },
    remediation="Set resources.requests.{cpu,memory} and resources.limits.memory on the container.",
)
def container_resources(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    needs = [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")]
    if ctx.config.get("requireCpuLimit"):
        needs.append(("limits", "cpu"))
    exempt = [str(p) for p in ctx.config.get("exemptContainers", [])]
    workload = name_of(props)
    for pod in pods(resource_type, props):
        for c in pod.containers:
            if any(fnmatch.fnmatchcase(f"{pod.namespace}/{workload}/{c.name}", p) for p in exempt):
                continue
            missing = [f"{k}.{r}" for k, r in needs if c.resources(k).get(r) in (None, "")]
            if missing:
                yield f"container {c.name!r} ({c.path}) lacks resources {', '.join(missing)}"


# ------------------------------------------------------------------------------------------------ secrets
_SENSITIVE = {"TOKEN", "PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "CREDENTIALS", "APIKEY", "KEY", "PRIVATEKEY"}
_NOT_A_VALUE = {"PATH", "FILE", "DIR", "NAME", "ID", "URL", "ENDPOINT", "HEADER", "TYPE", "SIZE", "FORMAT", "REF"}
_VALUE_PATTERNS = (
    re.compile(r"^hf_[A-Za-z0-9]{30,}$"),  # Hugging Face token
    re.compile(r"^nvapi-[A-Za-z0-9_-]{20,}$"),  # NGC / build.nvidia.com API key
    re.compile(r"^(AKIA|ASIA)[0-9A-Z]{16}$"),  # AWS access key id
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"^gh[pousr]_[A-Za-z0-9]{30,}$"),  # GitHub token
)


def sensitive_name(name: str, extra: Sequence[str] = ()) -> bool:
    """A name that says it holds a secret (HF_TOKEN, NGC_API_KEY, DB_PASSWORD), not one that points at one
    (HF_TOKEN_PATH, KEY_NAME)."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if not words or words[-1] in _NOT_A_VALUE:
        return any(re.search(p, name) for p in extra)
    return bool(set(words) & _SENSITIVE) or any(re.search(p, name) for p in extra)


def secret_looking(value: str) -> bool:
    return value == SECRET or any(p.search(value) for p in _VALUE_PATTERNS)


@resource_rule(
    "no-secret-literals",
    "No secret value in a plain env var or a ConfigMap: secrets come from a Secret (valueFrom/envFrom).",
    level="mandatory",
    severity="critical",
    config={
        "extraPatterns": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Extra regular expressions of env var / ConfigMap key names that hold secrets.",
        },
        "allowNames": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Names that look sensitive but are not (exact match).",
        },
    },
    remediation="Put the value in a Kubernetes Secret and reference it with env[].valueFrom.secretKeyRef or "
    "envFrom.secretRef (the stack's hf-token / ngc-api-key Secrets exist for model-hub tokens).",
)
def no_secret_literals(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    extra = [str(p) for p in ctx.config.get("extraPatterns", [])]
    allow = set(ctx.config.get("allowNames", []))
    kind = kind_of(resource_type, props)
    if kind == "ConfigMap":
        for section in ("data", "binaryData"):
            data = props.get(section)
            for key, value in sorted(data.items()) if isinstance(data, Mapping) else []:
                if key in allow or not isinstance(value, str) or not value:
                    continue
                if sensitive_name(key, extra) or secret_looking(value):
                    yield f"ConfigMap key {section}.{key} holds a literal secret-like value; move it to a Secret"
        return
    for pod in pods(resource_type, props):
        for c in pod.containers:
            for i, env in enumerate(_seq(c.spec.get("env"))):
                if not isinstance(env, Mapping):
                    continue
                name, value = str(env.get("name") or ""), env.get("value")
                if name in allow or not isinstance(value, str) or not value or value == UNKNOWN:
                    continue
                if sensitive_name(name, extra) or secret_looking(value):
                    yield (
                        f"container {c.name!r} env {name} ({c.path}.env[{i}]) is a literal value; "
                        "use valueFrom.secretKeyRef"
                    )


# ------------------------------------------------------------------------------------------------ network
def _is_open(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def _ports(rule: Mapping[str, Any]) -> str:
    lo, hi = rule.get("fromPort"), rule.get("toPort")
    return f"port {lo}" if lo == hi else f"ports {lo}-{hi}"


@resource_rule(
    "no-open-ingress",
    "No ingress from 0.0.0.0/0 or ::/0: security group rules and public LoadBalancer Services without source ranges.",
    level="mandatory",
    severity="critical",
    config={
        "allowedPorts": {
            "type": "array",
            "items": {"type": "integer"},
            "default": [],
            "description": "TCP ports that may be open to the internet (e.g. 443 of a public gateway).",
        }
    },
    remediation="Restrict the source to the VPC CIDR, a peer security group or known client ranges; make "
    "LoadBalancer Services internal or set loadBalancerSourceRanges.",
)
def no_open_ingress(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    allowed = set(ctx.config.get("allowedPorts", []))

    def open_rule(rule: Mapping[str, Any]) -> bool:
        sources = [*_seq(rule.get("cidrBlocks")), *_seq(rule.get("ipv6CidrBlocks")), rule.get("cidrIpv4")]
        sources.append(rule.get("cidrIpv6"))
        port_ok = rule.get("fromPort") == rule.get("toPort") and rule.get("fromPort") in allowed
        return any(_is_open(s) for s in sources if s) and not port_ok

    if resource_type == "aws:ec2/securityGroup:SecurityGroup":
        for i, rule in enumerate(_seq(props.get("ingress"))):
            if isinstance(rule, Mapping) and open_rule(rule):
                yield f"ingress[{i}] ({_ports(rule)}) is open to the internet"
    elif resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        if props.get("type") == "ingress" and open_rule(props):
            yield f"ingress rule ({_ports(props)}) is open to the internet"
    elif resource_type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        if open_rule(props):
            yield f"ingress rule ({_ports(props)}) is open to the internet"
    elif kind_of(resource_type, props) == "Service":
        spec = mapping(props, "spec")
        if spec.get("type") != "LoadBalancer":
            return
        ann = mapping(mapping(props, "metadata"), "annotations")
        internal = (
            ann.get("service.beta.kubernetes.io/aws-load-balancer-scheme") == "internal"
            or str(ann.get("service.beta.kubernetes.io/aws-load-balancer-internal", "")).lower()
            in ("true", "0.0.0.0/0")
            or str(ann.get("networking.gke.io/load-balancer-type", "")).lower() == "internal"
        )
        ranges = _seq(spec.get("loadBalancerSourceRanges"))
        ports = {p.get("port") for p in _seq(spec.get("ports")) if isinstance(p, Mapping)}
        if not internal and (not ranges or any(_is_open(r) for r in ranges)) and not ports <= allowed:
            yield (
                f"LoadBalancer Service {name_of(props)!r} is reachable from anywhere; make it internal "
                "(aws-load-balancer-scheme: internal) or set spec.loadBalancerSourceRanges"
            )


@resource_rule(
    "imdsv2-required",
    "Launch templates require IMDSv2 (metadataOptions.httpTokens = required).",
    level="mandatory",
    severity="high",
    remediation="Set metadata_options=LaunchTemplateMetadataOptionsArgs(http_tokens='required', ...).",
)
def imdsv2_required(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if resource_type not in ("aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/instance:Instance"):
        return
    md = props.get("metadataOptions")
    tokens = md.get("httpTokens") if isinstance(md, Mapping) else None
    if tokens == UNKNOWN:
        return
    if tokens != "required":
        yield f"metadataOptions.httpTokens is {tokens!r} (IMDSv1 allowed); set it to 'required'"


@resource_rule(
    "eks-endpoint-restricted",
    "The EKS API endpoint is private, or public only to listed CIDRs (never 0.0.0.0/0).",
    level="mandatory",
    severity="high",
    remediation="Set cluster.endpointPublicAccess: false, or list cluster.publicAccessCidrs.",
)
def eks_endpoint_restricted(resource_type: str, props: Mapping[str, Any], ctx: RuleContext) -> Iterator[str]:
    if resource_type != "aws:eks/cluster:Cluster":
        return
    vpc = mapping(props, "vpcConfig")
    public = vpc.get("endpointPublicAccess", True)  # the EKS API default is public
    if public is False or public == UNKNOWN:
        return
    cidrs = [c for c in _seq(vpc.get("publicAccessCidrs")) if c != UNKNOWN]
    if not cidrs:
        yield "vpcConfig.endpointPublicAccess is on with no publicAccessCidrs (the API is open to 0.0.0.0/0)"
    elif any(_is_open(c) for c in cidrs):
        yield f"vpcConfig.publicAccessCidrs {cidrs} opens the API endpoint to the internet"


# ------------------------------------------------------------------------------------------------ tenants
@stack_rule(
    "tenant-default-deny",
    "Every tenant namespace has a default-deny ingress NetworkPolicy (empty podSelector, no ingress rules).",
    level="mandatory",
    severity="high",
    config={
        "tenantNamespaces": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Tenant namespaces (filled from scheduling.queues).",
        }
    },
    remediation="Add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress] in the namespace, then allow "
    "the frontend's traffic explicitly.",
)
def tenant_default_deny(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    tenants = list(dict.fromkeys(str(n) for n in ctx.config.get("tenantNamespaces", [])))
    if not tenants:
        return
    covered: set[str] = set()
    ns_urns: dict[str, str] = {}
    for r in resources:
        kind = kind_of(r.type, r.props)
        if kind == "Namespace":
            ns_urns[name_of(r.props)] = r.urn
        if kind != "NetworkPolicy":
            continue
        spec = mapping(r.props, "spec")
        selector = spec.get("podSelector")
        selects_all = isinstance(selector, Mapping) and not any(selector.get(k) for k in selector)
        types = [str(t) for t in _seq(spec.get("policyTypes"))] or ["Ingress"]
        if selects_all and "Ingress" in types and not _seq(spec.get("ingress")):
            covered.add(namespace_of(r.props))
    for ns in tenants:
        if ns not in covered:
            yield ns_urns.get(ns), f"tenant namespace {ns!r} has no default-deny ingress NetworkPolicy"
