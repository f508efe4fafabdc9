"""Stand-ins for what runs inside containers on a real cluster and so cannot run here (no kubelet, no images).

Each stand-in does, through the API server, the one thing the real component is documented to do that the stack's
later steps depend on, and nothing else; each is named in out/e2e/summary.json (`emulated`) so a reader knows which
behaviour was *not* verified:

* `storage`: a dynamic provisioner for the cluster's pre-existing StorageClasses (the CSI driver / provisioner the
  stack expects to find): a pending claim of such a class gets a pre-bound PV, as external-provisioner does
  (kubernetes-csi/external-provisioner). Claims of classes with `kubernetes.io/no-provisioner` are left to the
  PV controller, which binds them to the stack's own static PVs for real.
* `node-labeller`: what the stack's labeller CronJob's containers run (`kubectl label/taint nodes --selector ...`),
  read from the CronJob object stored in the API server, so the labels and taints are the stack's, not ours.
* `acceptance`: the burn-in pod writes `inference-ra.nvidia.com/acceptance=passed` on its node; here every node
  that runs a pod of the stack's gpu-acceptance DaemonSets gets the label (the burn-in itself is verified on GPUs).
* `runtime-class`: the GPU Operator's ClusterPolicy controller creates the `nvidia` RuntimeClass (handler
  `nvidia`) that GPU pods name (NVIDIA/gpu-operator controllers/object_controls.go, RuntimeClass); here it is
  created once a ClusterPolicy exists. Without it the RuntimeClass admission plugin rejects those pods.
* `prometheus-operator`: the operator runs each Prometheus / Alertmanager as a StatefulSet owned by the custom
  resource, with the pod labels the chart's Services select (prometheus-operator pkg/prometheus/statefulset.go,
  pkg/alertmanager/statefulset.go); here a one-replica StatefulSet with those labels is created per resource, so
  the Services get endpoints as on a real cluster (the provider awaits them) and GC removes it with its owner.
* `nv-ipam-crds`: the Network Operator deploys NV-IPAM, CRDs included, when a NicClusterPolicy enables `nvIpam`
  (Mellanox/network-operator manifests/state-nv-ipam-cni); here the pinned NV-IPAM CRDs
  (../shared/upstream/crds/nvidia-k8s-ipam) are created once such a policy exists.
* `webhooks`: the operators' admission webhook servers, see WebhookServer below.
* `dynamo-crds`: the Dynamo operator's `crd-apply` init container applies the operator's CRDs before the manager
  starts (dynamo-platform chart, components/operator/templates/deployment.yaml); here the pinned upstream CRDs
  (../shared/upstream/crds/dynamo) are applied when that Deployment appears.
"""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Any

import yaml

from components.constants import ACCEPTANCE_LABEL

FIELD_MANAGER = "e2e-emulator"


class Emulators:
    def __init__(
        self, api_client: Any, crd_dir: Path, storage_classes: dict[str, str], webhooks: WebhookServer | None = None
    ) -> None:
        from kubernetes import client

        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.ext = client.ApiextensionsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.crd_dir = crd_dir
        self.storage_classes = storage_classes  # name -> provisioner, pre-existing on the "cluster"
        self.done: dict[str, int] = {
            "storage": 0,
            "node-labeller": 0,
            "acceptance": 0,
            "runtime-class": 0,
            "prometheus-operator": 0,
            "dynamo-crds": 0,
            "nv-ipam-crds": 0,
        }
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="emulators", daemon=True)
        self._crds_applied = False
        self.webhooks = webhooks
        # cluster-scoped objects the emulated operators create, which `pulumi destroy` does not own (as on a real
        # cluster: the GPU Operator's RuntimeClass, the Dynamo operator's CRDs stay after the charts are removed)
        self.operator_objects: set[tuple[str, str, str, str]] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for step in (
                self.provision,
                self.label_nodes,
                self.accept_nodes,
                self.runtime_class,
                self.prometheus_operator,
                self.dynamo_crds,
                self.nv_ipam_crds,
                self.inject_ca,
            ):
                try:
                    step()
                except Exception as exc:  # recorded, reported in the summary; the loop keeps going
                    msg = f"{step.__name__}: {exc.__class__.__name__}: {exc}"
                    if msg not in self.errors:
                        self.errors.append(msg + "\n" + traceback.format_exc(limit=3))
            self._stop.wait(1.0)

    # -- storage ----------------------------------------------------------------------------------------------
    def provision(self) -> None:
        from kubernetes import client

        for pvc in self.core.list_persistent_volume_claim_for_all_namespaces().items:
            sc = pvc.spec.storage_class_name
            if pvc.status.phase != "Pending" or pvc.spec.volume_name or sc not in self.storage_classes:
                continue
            name = f"pvc-{pvc.metadata.uid}"
            pv = client.V1PersistentVolume(
                metadata=client.V1ObjectMeta(
                    name=name, annotations={"pv.kubernetes.io/provisioned-by": self.storage_classes[sc]}
                ),
                spec=client.V1PersistentVolumeSpec(
                    capacity={"storage": pvc.spec.resources.requests["storage"]},
                    access_modes=pvc.spec.access_modes,
                    storage_class_name=sc,
                    persistent_volume_reclaim_policy="Delete",
                    volume_mode=pvc.spec.volume_mode,
                    csi=client.V1CSIPersistentVolumeSource(driver=self.storage_classes[sc], volume_handle=name),
                    claim_ref=client.V1ObjectReference(
                        kind="PersistentVolumeClaim",
                        namespace=pvc.metadata.namespace,
                        name=pvc.metadata.name,
                        uid=pvc.metadata.uid,
                    ),
                ),
            )
            try:
                self.core.create_persistent_volume(pv)
                self.done["storage"] += 1
            except client.ApiException as exc:
                if exc.status != 409:
                    raise
        # reclaim: a released volume of ours is deleted, as the provisioner does for reclaimPolicy Delete
        for pv in self.core.list_persistent_volume().items:
            if pv.metadata.name.startswith("pvc-") and pv.status.phase == "Released":
                self.core.delete_persistent_volume(pv.metadata.name)

    # -- node labeller ----------------------------------------------------------------------------------------
    def label_nodes(self) -> None:
        for cj in self.batch.list_cron_job_for_all_namespaces(label_selector="app.kubernetes.io/name").items:
            pod = cj.spec.job_template.spec.template.spec
            commands = [c.args or [] for c in (pod.init_containers or []) + (pod.containers or [])]
            for args in commands:
                if len(args) < 4 or args[1] != "nodes" or args[0] not in ("label", "taint") or "--selector" not in args:
                    continue
                selector = args[args.index("--selector") + 1]
                items = [a for a in args[2:] if not a.startswith("--") and a != selector]
                for node in self.core.list_node(label_selector=selector).items:
                    self._kubectl(args[0], node, items)

    def _kubectl(self, verb: str, node: Any, items: list[str]) -> None:
        if verb == "label":
            labels = dict(i.split("=", 1) for i in items)
            if all((node.metadata.labels or {}).get(k) == v for k, v in labels.items()):
                return
            self.core.patch_node(node.metadata.name, {"metadata": {"labels": labels}})
        else:
            taints = list(node.spec.taints or [])
            have = {(t.key, t.effect): t.value for t in taints}
            new = []
            for item in items:
                kv, effect = item.rsplit(":", 1)
                key, _, value = kv.partition("=")
                if have.get((key, effect)) != value:
                    new.append({"key": key, "value": value, "effect": effect})
            if not new:
                return
            keep = [
                {"key": t.key, "value": t.value, "effect": t.effect}
                for t in taints
                if (t.key, t.effect) not in {(n["key"], n["effect"]) for n in new}
            ]
            self.core.patch_node(node.metadata.name, {"spec": {"taints": keep + new}})
        self.done["node-labeller"] += 1

    # -- acceptance -------------------------------------------------------------------------------------------
    def accept_nodes(self) -> None:
        pods = self.core.list_pod_for_all_namespaces(label_selector="app.kubernetes.io/name=gpu-acceptance").items
        for pod in pods:
            node = pod.spec.node_name
            if not node or pod.status.phase != "Running":
                continue
            current = self.core.read_node(node)
            if (current.metadata.labels or {}).get(ACCEPTANCE_LABEL) == "passed":
                continue
            self.core.patch_node(node, {"metadata": {"labels": {ACCEPTANCE_LABEL: "passed"}}})
            self.done["acceptance"] += 1

    def nv_ipam_crds(self) -> None:
        from kubernetes import client

        if self.done["nv-ipam-crds"]:
            return
        try:
            policies = self.custom.list_cluster_custom_object("mellanox.com", "v1alpha1", "nicclusterpolicies")["items"]
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        if not any((p.get("spec") or {}).get("nvIpam") for p in policies):
            return
        for path in sorted((self.crd_dir.parent / "nvidia-k8s-ipam").glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                self.operator_objects.add(
                    ("apiextensions.k8s.io", "CustomResourceDefinition", "", doc["metadata"]["name"])
                )
                try:
                    self.ext.create_custom_resource_definition(doc)
                except client.ApiException as exc:
                    if exc.status != 409:
                        raise
                self.done["nv-ipam-crds"] += 1

    def inject_ca(self) -> None:
        if self.webhooks is not None:
            self.webhooks.inject_ca()

    # -- GPU Operator's RuntimeClass ---------------------------------------------------------------------------
    def runtime_class(self) -> None:
        from kubernetes import client

        if self.done["runtime-class"]:
            return
        try:
            policies = self.custom.list_cluster_custom_object("nvidia.com", "v1", "clusterpolicies")["items"]
        except client.ApiException as exc:
            if exc.status == 404:
                return
            raise
        if not policies:
            return
        node = client.NodeV1Api(self.api_client)
        self.operator_objects.add(("node.k8s.io", "RuntimeClass", "", "nvidia"))
        try:
            node.create_runtime_class(
                {
                    "apiVersion": "node.k8s.io/v1",
                    "kind": "RuntimeClass",
                    "metadata": {"name": "nvidia"},
                    "handler": "nvidia",
                }
            )
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        self.done["runtime-class"] += 1

    # -- prometheus-operator's StatefulSets -----------------------------------------------------------------------
    def prometheus_operator(self) -> None:
        from kubernetes import client

        for plural, app in (("prometheuses", "prometheus"), ("alertmanagers", "alertmanager")):
            try:
                items = self.custom.list_cluster_custom_object("monitoring.coreos.com", "v1", plural)["items"]
            except client.ApiException as exc:
                if exc.status == 404:
                    continue
                raise
            for cr in items:
                meta = cr["metadata"]
                name, ns = f"{app}-{meta['name']}", meta["namespace"]
                labels = {
                    "app.kubernetes.io/name": app,
                    "app.kubernetes.io/instance": meta["name"],
                    "app.kubernetes.io/managed-by": "prometheus-operator",
                    "operator.prometheus.io/name": meta["name"],
                    "operator.prometheus.io/shard": "0",
                    app: meta["name"],
                }
                sts = {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "metadata": {
                        "name": name,
                        "namespace": ns,
                        "labels": labels,
                        "ownerReferences": [
                            {
                                "apiVersion": cr["apiVersion"],
                                "kind": cr["kind"],
                                "name": meta["name"],
                                "uid": meta["uid"],
                                "controller": True,
                                "blockOwnerDeletion": True,
                            }
                        ],
                    },
                    "spec": {
                        "replicas": 1,
                        "serviceName": f"{app}-operated",
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": app, "image": f"emulated/{app}"}]},
                        },
                    },
                }
                try:
                    self.apps.create_namespaced_stateful_set(ns, sts)
                    self.done["prometheus-operator"] += 1
                except client.ApiException as exc:
                    if exc.status != 409:
                        raise

    # -- Dynamo operator's CRDs -------------------------------------------------------------------------------
    def dynamo_crds(self) -> None:
        if self._crds_applied:
            return
        args: list[str] = []
        for dep in self.apps.list_deployment_for_all_namespaces().items:
            inits = [c for c in dep.spec.template.spec.init_containers or [] if c.name == "crd-apply"]
            if inits:
                args = inits[0].args or []
                break
        else:
            return
        # crd-apply points the CRDs' conversion webhook at the release's webhook Service (its two flags)
        flags = dict(a.removeprefix("--").split("=", 1) for a in args if a.startswith("--") and "=" in a)
        service = {
            "name": flags.get("conversion-webhook-service-name"),
            "namespace": flags.get("conversion-webhook-service-namespace"),
        }
        from kubernetes import client

        for path in sorted(self.crd_dir.glob("*.yaml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if not doc or doc.get("kind") != "CustomResourceDefinition":
                    continue
                webhook = (doc["spec"].get("conversion") or {}).get("webhook") or {}
                if "service" in webhook.get("clientConfig", {}):
                    webhook["clientConfig"]["service"].update({k: v for k, v in service.items() if v})
                self.operator_objects.add(
                    ("apiextensions.k8s.io", "CustomResourceDefinition", "", doc["metadata"]["name"])
                )
                try:
                    self.ext.create_custom_resource_definition(doc)
                    self.done["dynamo-crds"] += 1
                except client.ApiException as exc:
                    if exc.status != 409:
                        raise
        self._crds_applied = True


def wait_until(what: str, check: Any, timeout: float, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"{what}: not true after {timeout:.0f}s (last: {last!r})")


class WebhookServer:
    """Stands in for the admission webhook servers of the operators the charts install (Dynamo, KAI, Grove,
    prometheus-operator, ...), which run in containers and so not here. Those operators (or a cert job of their
    chart) generate a serving certificate and inject its CA into their Validating/MutatingWebhookConfigurations
    (`clientConfig.caBundle`); here the CA is the run's, injected the same way, and every review is answered
    `allowed` without the operator's validation (which is therefore not verified; the summary counts the calls per
    path). The API server reaches this server through the egress router (cluster.EgressRouter), which tunnels
    connections to a webhook Service's ClusterIP here and refuses everything else. The certificate for each
    Service name is issued on first use (TLS SNI)."""

    def __init__(self, api_client: Any, pki: Any) -> None:
        import http.server
        import ssl

        self.api_client = api_client
        self.pki = pki
        self.calls: dict[str, int] = {}
        self.injected: set[str] = set()
        self._contexts: dict[str, Any] = {}
        calls = self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                import json

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                review = json.loads(body or b"{}")
                key = f"{self.headers.get('Host', '').split(':')[0]}{self.path.split('?', 1)[0]}"
                calls[key] = calls.get(key, 0) + 1
                request = review.get("request") or {}
                if review.get("kind") == "ConversionReview":
                    # CRD conversion: the objects with the requested apiVersion, fields unchanged (the operator's
                    # real conversion between its versions is not verified)
                    desired = request.get("desiredAPIVersion", "")
                    response = {
                        "uid": request.get("uid", ""),
                        "result": {"status": "Success"},
                        "convertedObjects": [{**o, "apiVersion": desired} for o in request.get("objects") or []],
                    }
                else:
                    response = {"uid": request.get("uid", ""), "allowed": True}
                out = json.dumps(
                    {
                        "apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
                        "kind": review.get("kind", "AdmissionReview"),
                        "response": response,
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: Any) -> None:
                return

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        default = self._context("webhook.e2e.invalid")
        default.sni_callback = self._sni
        self._httpd.socket = default.wrap_socket(self._httpd.socket, server_side=True)
        self.address = ("127.0.0.1", self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        del ssl

    def _context(self, name: str) -> Any:
        import ssl

        from tests.e2e.pki import issue_server_cert

        if name not in self._contexts:
            crt, key = issue_server_cert(self.pki, f"webhook-{len(self._contexts)}", [name])
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(crt), str(key))
            self._contexts[name] = ctx
        return self._contexts[name]

    def _sni(self, sslobj: Any, server_name: str | None, _ctx: Any) -> None:
        if server_name:
            sslobj.context = self._context(server_name)

    def _configs(self) -> list[tuple[str, Any]]:
        from kubernetes import client

        adm = client.AdmissionregistrationV1Api(self.api_client)
        return [("validating", c) for c in adm.list_validating_webhook_configuration().items] + [
            ("mutating", c) for c in adm.list_mutating_webhook_configuration().items
        ]

    def services(self) -> dict[str, tuple[str, str]]:
        """ClusterIP:port -> (namespace, name) of the Services the webhook configurations call."""
        from kubernetes import client

        core = client.CoreV1Api(self.api_client)
        refs = set()
        for _, cfg in self._configs():
            for hook in cfg.webhooks or []:
                svc = hook.client_config.service
                if svc:
                    refs.add((svc.namespace, svc.name, svc.port or 443))
        out = {}
        for ns, name, port in refs:
            try:
                svc = core.read_namespaced_service(name, ns)
            except client.ApiException:
                continue
            if svc.spec.cluster_ip and svc.spec.cluster_ip != "None":
                for p in svc.spec.ports or []:
                    if p.port == port:
                        out[f"{svc.spec.cluster_ip}:{port}"] = (ns, name)
        return out

    def route(self, target: str) -> tuple[str, int] | None:
        return self.address if target in self.services() else None

    def inject_ca(self) -> None:
        """Put the run's CA into every webhook configuration, as the operators (or their cert jobs) do."""
        import base64

        from kubernetes import client

        adm = client.AdmissionregistrationV1Api(self.api_client)
        bundle = base64.b64encode(self.pki.ca.read_bytes()).decode()
        patchers = {
            "validating": adm.patch_validating_webhook_configuration,
            "mutating": adm.patch_mutating_webhook_configuration,
        }
        for kind, cfg in self._configs():
            key = f"{kind}/{cfg.metadata.name}/{cfg.metadata.resource_version}"
            if key in self.injected:
                continue
            ops = [
                {"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": bundle}
                for i, hook in enumerate(cfg.webhooks or [])
                if hook.client_config.service and hook.client_config.ca_bundle != bundle
            ]
            if ops:
                patchers[kind](cfg.metadata.name, ops)
            self.injected.add(key)
        # CRDs converted by a webhook Service (the Dynamo operator patches its CA in, as for its admission webhooks)
        ext = client.ApiextensionsV1Api(self.api_client)
        for crd in ext.list_custom_resource_definition().items:
            conv = crd.spec.conversion
            hook = conv.webhook if conv is not None and conv.strategy == "Webhook" else None
            if hook is None or hook.client_config is None or hook.client_config.service is None:
                continue
            if hook.client_config.ca_bundle != bundle:
                ext.patch_custom_resource_definition(
                    crd.metadata.name,
                    [{"op": "add", "path": "/spec/conversion/webhook/clientConfig/caBundle", "value": bundle}],
                )

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
