"""Security rules, each with a passing and a violating synthetic resource."""

from __future__ import annotations

from policies.security import sensitive_name, split_image
from tests.policies.plans import aws, container, deployment, dgd, k8s, violations

SG = "aws:ec2/securityGroup:SecurityGroup"


def test_privileged_pod_in_operator_namespace_passes() -> None:
    pod = {"hostNetwork": True, "containers": [container(securityContext={"privileged": True})]}
    assert violations("no-privileged-pods", deployment("driver", "gpu-operator", pod)) == []


def test_rejects_privileged_container_hostpath_and_host_namespaces() -> None:
    pod = {
        "hostNetwork": True,
        "hostPID": True,
        "volumes": [{"name": "dev", "hostPath": {"path": "/dev"}}],
        "containers": [container(securityContext={"privileged": True})],
    }
    found = violations("no-privileged-pods", deployment("bad", "team-a", pod))
    assert len(found) == 4
    assert any("spec.template.spec.hostNetwork is true in namespace 'team-a'" in m for m in found)
    assert any("hostPath '/dev'" in m for m in found)
    assert any("container 'main'" in m and "privileged" in m for m in found)
    assert all(m.startswith("Deployment team-a/bad: ") for m in found)


def test_privileged_allow_list_is_configurable() -> None:
    pod = {"hostPID": True, "containers": [container()]}
    assert violations("no-privileged-pods", deployment("x", "nvme", pod), allowedNamespaces=["nvme"]) == []


def test_rejects_privileged_dynamo_component() -> None:
    comp = {"name": "decode", "type": "decode", "podTemplate": {"spec": {"hostIPC": True, "containers": [container()]}}}
    found = violations("no-privileged-pods", dgd(components=[comp]))
    assert found == [
        "DynamoGraphDeployment dynamo/llama: spec.components[0].podTemplate.spec.hostIPC is true in namespace "
        "'dynamo' (operator namespaces: gpu-operator, kube-system, network-operator, nvidia-dra-driver); remove it"
    ]


def test_split_image_defaults() -> None:
    assert split_image("busybox:1.37.0") == ("docker.io", "library/busybox", "1.37.0", "")
    assert split_image("nvcr.io/nvidia/pytorch:25.08-py3") == ("nvcr.io", "nvidia/pytorch", "25.08-py3", "")
    assert split_image("localhost:5000/x@sha256:ab") == ("localhost:5000", "x", "", "sha256:ab")


def test_pinned_images_pass() -> None:
    pod = {"containers": [container(image="nvcr.io/nvidia/tritonserver:25.08-py3"), container("b", "x@sha256:0f")]}
    assert violations("images-pinned", deployment(pod=pod)) == []


def test_rejects_latest_and_untagged_images() -> None:
    pod = {"initContainers": [container("init", "busybox")], "containers": [container(image="nvcr.io/x/y:latest")]}
    found = violations("images-pinned", deployment(pod=pod))
    assert len(found) == 2
    assert "'busybox' has no tag" in found[0] and "uses `latest`" in found[1]


def test_rejects_latest_in_cronjob() -> None:
    cron = k8s(
        "batch/v1",
        "CronJob",
        "bench",
        "dynamo",
        spec={
            "schedule": "@daily",
            "jobTemplate": {"spec": {"template": {"spec": {"containers": [container(image="a:latest")]}}}},
        },
    )
    assert len(violations("images-pinned", cron)) == 1


def test_pinned_repositories_and_listed_registries_pass() -> None:
    pod = {"containers": [container(image="nvcr.io/nvidia/pytorch:25.08-py3"), container("b", "python:3.12")]}
    assert violations("images-allowed-registries", deployment(pod=pod)) == []  # both repositories are pinned
    other = {"containers": [container(image="quay.io/team/tool:2")]}
    assert violations("images-allowed-registries", deployment(pod=other), allowedRegistries=["quay.io/team"]) == []


def test_rejects_an_unpinned_repository_of_an_allowed_registry() -> None:
    """Issue 19 item 5: docker.io/someone/miner passed while docker.io was allowed as a whole."""
    pod = {"containers": [container(image="docker.io/someone/miner:1.0")]}
    found = violations("images-allowed-registries", deployment(pod=pod))
    assert found == [
        "Deployment dynamo/app: container 'main' (spec.template.spec.containers[0]) image "
        "'docker.io/someone/miner:1.0' (docker.io/someone/miner) is not from a pinned repository or an allowed "
        "registry (policy.allowedRegistries)"
    ]
    assert len(violations("images-allowed-registries", deployment(pod=pod), allowedRegistries=["nvcr.io/nvidia"])) == 1


def test_reports_images_not_pinned_by_digest() -> None:
    pod = {"containers": [container(image="nvcr.io/nvidia/pytorch:25.08-py3"), container("b", "x@sha256:0f")]}
    found = violations("images-digest-pinned", deployment(pod=pod))
    assert found == [
        "Deployment dynamo/app: container 'main' (spec.template.spec.containers[0]) image "
        "'nvcr.io/nvidia/pytorch:25.08-py3' is pinned by tag, not by digest"
    ]


def test_registry_path_prefix_is_not_a_string_prefix() -> None:
    pod = {"containers": [container(image="nvcr.io/nvidiafake/x:1")]}
    assert len(violations("images-allowed-registries", deployment(pod=pod), allowedRegistries=["nvcr.io/nvidia"])) == 1


def test_container_resources_pass() -> None:
    assert violations("container-resources", deployment()) == []


def test_rejects_container_without_requests_or_memory_limit() -> None:
    bare = {"name": "c", "image": "nvcr.io/x:1", "resources": {"limits": {"cpu": "1"}}}
    found = violations("container-resources", deployment(pod={"containers": [bare]}))
    assert found == [
        "Deployment dynamo/app: container 'c' (spec.template.spec.containers[0]) lacks resources requests.cpu, "
        "requests.memory, limits.memory"
    ]
    assert "limits.cpu" in violations("container-resources", deployment(), requireCpuLimit=True)[0]


def test_sensitive_names() -> None:
    assert sensitive_name("HF_TOKEN") and sensitive_name("NGC_API_KEY") and sensitive_name("DB_PASSWORD")
    assert not sensitive_name("HF_TOKEN_PATH") and not sensitive_name("NCCL_IB_HCA") and not sensitive_name("KEY_NAME")


def test_secret_from_secret_ref_passes() -> None:
    env = [{"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN"}}}]
    env.append({"name": "HF_HOME", "value": "/models/huggingface"})
    assert violations("no-secret-literals", deployment(pod={"containers": [container(env=env)]})) == []


def test_rejects_secret_literal_in_env_and_configmap() -> None:
    env = [{"name": "HF_TOKEN", "value": "[secret]"}, {"name": "OTHER", "value": "hf_" + "a" * 34}]
    found = violations("no-secret-literals", deployment(pod={"containers": [container(env=env)]}))
    assert [m.split(" env ")[1].split(" ")[0] for m in found] == ["HF_TOKEN", "OTHER"]
    cm = k8s("v1", "ConfigMap", "cfg", "dynamo", data={"NGC_API_KEY": "nvapi-xyz", "MODEL": "llama"})
    assert violations("no-secret-literals", cm) == [
        "ConfigMap dynamo/cfg: ConfigMap key data.NGC_API_KEY holds a literal secret-like value; move it to a Secret"
    ]


def test_rejects_secret_literal_in_dynamo_graph_env() -> None:
    graph = dgd(components=[{"name": "w", "type": "worker", "podTemplate": {"spec": {"containers": [container()]}}}])
    graph["inputs"]["spec"]["env"] = [{"name": "HF_TOKEN", "value": "hf_x"}]
    assert len(violations("no-secret-literals", graph)) == 1


def test_closed_security_group_passes() -> None:
    sg = aws(SG, "efa", {"ingress": [{"fromPort": 0, "toPort": 0, "protocol": "-1", "self": True}]})
    assert violations("no-open-ingress", sg) == []


def test_rejects_open_ingress() -> None:
    sg = aws(SG, "web", {"ingress": [{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}]})
    rule = aws(
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "v6",
        {"cidrIpv6": "::/0", "fromPort": 1, "toPort": 9},
    )
    found = violations("no-open-ingress", sg, rule)
    assert found == [
        "SecurityGroup web: ingress[0] (port 22) is open to the internet",
        "SecurityGroupIngressRule v6: ingress rule (ports 1-9) is open to the internet",
    ]
    assert violations("no-open-ingress", sg, allowedPorts=[22]) == []


def test_rejects_public_load_balancer_service() -> None:
    svc = k8s("v1", "Service", "frontend", "dynamo", spec={"type": "LoadBalancer", "ports": [{"port": 8000}]})
    assert len(violations("no-open-ingress", svc)) == 1
    svc["inputs"]["metadata"]["annotations"] = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}
    assert violations("no-open-ingress", svc) == []


def test_imdsv2_passes() -> None:
    lt = aws("aws:ec2/launchTemplate:LaunchTemplate", "gpu", {"metadataOptions": {"httpTokens": "required"}})
    assert violations("imdsv2-required", lt) == []


def test_rejects_launch_template_without_imdsv2() -> None:
    lt = aws("aws:ec2/launchTemplate:LaunchTemplate", "gpu", {"metadataOptions": {"httpTokens": "optional"}})
    assert violations("imdsv2-required", lt) == [
        "LaunchTemplate gpu: metadataOptions.httpTokens is 'optional' (IMDSv1 allowed); set it to 'required'"
    ]
    assert len(violations("imdsv2-required", aws("aws:ec2/launchTemplate:LaunchTemplate", "x", {}))) == 1


def test_private_or_restricted_eks_endpoint_passes() -> None:
    private = aws("aws:eks/cluster:Cluster", "c", {"vpcConfig": {"endpointPublicAccess": False}})
    restricted = aws(
        "aws:eks/cluster:Cluster",
        "d",
        {"vpcConfig": {"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}},
    )
    assert violations("eks-endpoint-restricted", private, restricted) == []


def test_rejects_open_eks_endpoint() -> None:
    default_public = aws("aws:eks/cluster:Cluster", "c", {"vpcConfig": {"subnetIds": []}})
    world = aws("aws:eks/cluster:Cluster", "d", {"vpcConfig": {"publicAccessCidrs": ["0.0.0.0/0"]}})
    found = violations("eks-endpoint-restricted", default_public, world)
    assert len(found) == 2 and "no publicAccessCidrs" in found[0] and "0.0.0.0/0" in found[1]


def _netpol(ns: str, selector: dict, ingress: list | None = None) -> dict:
    spec: dict = {"podSelector": selector, "policyTypes": ["Ingress", "Egress"]}
    if ingress is not None:
        spec["ingress"] = ingress
    return k8s("networking.k8s.io/v1", "NetworkPolicy", "default-deny", ns, spec=spec)


def test_tenant_default_deny_passes() -> None:
    assert violations("tenant-default-deny", _netpol("team-a", {}), tenantNamespaces=["team-a"]) == []


def test_rejects_tenant_without_default_deny() -> None:
    ns = k8s("v1", "Namespace", "team-a")
    allow_all = _netpol("team-a", {}, ingress=[{}])
    partial = _netpol("team-a", {"matchLabels": {"app": "x"}})
    found = violations("tenant-default-deny", ns, allow_all, partial, tenantNamespaces=["team-a"])
    assert found == ["Namespace team-a: namespace 'team-a' has no default-deny Ingress NetworkPolicy"]


def test_rejects_secrets_in_container_args_and_uris() -> None:
    """Issue 19 item 6: container args and credentials inside URIs were not checked."""
    token = "hf_" + "a" * 34
    pod = {
        "containers": [
            container(args=["--model", "x", "--hf-token", token]),
            container("b", args=["--api-key=sk-literal"], env=[{"name": "SRC", "value": "s3://AKIA0:pw@bucket/p"}]),
            container("c", command=["sh", "-c", f"curl -H 'Authorization: Bearer {token}' https://x"]),
            container("d", args=["--repo", "https://user:s3cret@git.example.com/r.git"]),
        ]
    }
    found = violations("no-secret-literals", deployment(pod=pod))
    assert len(found) == 5, found
    text = "\n".join(found)
    assert (
        "container 'main' args[2] (spec.template.spec.containers[0].args[2]) flag --hf-token is given a literal" in text
    )
    assert "container 'b' args[0]" in text and "flag --api-key" in text
    assert "container 'b' env SRC" in text  # s3://AKIA0:pw@bucket
    assert "container 'c' command[2]" in text and "token-shaped" in text
    assert "container 'd' args[1]" in text and "URI with credentials" in text


def test_secret_args_pass_when_referenced_from_env_or_not_secrets() -> None:
    pod = {
        "containers": [
            container(args=["--hf-token", "$(HF_TOKEN)", "--label-key", "inference-ra.nvidia.com/acceptance"]),
            container("b", args=["--url", "http://llama-frontend.dynamo.svc:8000", "--token-file", "/var/run/t"]),
        ]
    }
    assert violations("no-secret-literals", deployment(pod=pod)) == []
