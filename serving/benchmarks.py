"""AIPerf benchmark Jobs: one per model with `benchmark.enabled`, profiling the graph's frontend with the model's
ISL/OSL over its concurrency sweep and scoring goodput against its SLO.

Target: the Dynamo operator exposes a DynamoGraphDeployment's frontend as a ClusterIP Service named
`<graph name>-frontend` on port 8000 in the graph's namespace ("Expose the Frontend", Dynamo docs,
docs.nvidia.com/dynamo/dev/kubernetes/model-deployment/expose-the-frontend). Image: the Dynamo vLLM runtime of the
pinned Dynamo version, the image Dynamo's own in-cluster benchmark Job runs AIPerf from
(ai-dynamo/dynamo benchmarks/incluster/benchmark_job.yaml). Flags are AIPerf's `profile` options
(ai-dynamo/aiperf docs/cli_options.md); `--goodput` takes space-separated `metric:value` pairs in the metric's
display unit (ms for time_to_first_token and inter_token_latency).

Results go to the model cache volume under `benchmarks/<model>/c<concurrency>/` (AIPerf's artifact directory:
profile_export_aiperf.json/.csv), next to the weights they measured, readable by any pod of the namespace.
The Job waits for the frontend to list the model, so it can be created with the graph; Pulumi does not wait for
it to finish (`pulumi.com/skipAwait`), since a sweep can outlast a deployment.
"""

from __future__ import annotations

import shlex
from typing import Any

import pulumi

from components import constants as C
from components import k8s as kobj
from components import podsecurity
from components.catalog.dynamo import release
from components.context import PlatformContext
from components.namespaces import model_namespace
from components.spec import StackSpec
from components.spec.serving import ModelSpec

FRONTEND_PORT = 8000  # the operator's frontend Service port
RESULTS_DIR = f"{C.MODEL_CACHE_MOUNT}/benchmarks"
LABELS = {"app.kubernetes.io/part-of": "inference-ra", "app.kubernetes.io/component": "benchmark"}
READY_TIMEOUT_S = 7200
DEFAULT_ISL, DEFAULT_OSL = 2048, 256


def aiperf_image(spec: StackSpec) -> str:
    """AIPerf ships in the Dynamo runtime images: the release's vLLM runtime (or its override)."""
    return spec.serving.dynamo.images.get("vllm") or release(spec.serving.dynamo.version).images["vllm"]


def frontend_url(spec: StackSpec, model: ModelSpec) -> str:
    ns = model_namespace(spec, model.name)
    return f"http://{model.name}-frontend.{ns}.svc.cluster.local:{FRONTEND_PORT}"


def request_count(concurrency: int) -> int:
    """Enough requests that every concurrency level reaches steady state: 10 per slot, at least 100."""
    return max(100, 10 * concurrency)


def aiperf_args(spec: StackSpec, model: ModelSpec, concurrency: int) -> list[str]:
    slo = model.slo
    isl, osl = (slo.isl, slo.osl) if slo else (DEFAULT_ISL, DEFAULT_OSL)
    args = [
        "aiperf", "profile",
        "--model", model.model,
        "--tokenizer", model.model,
        "--url", frontend_url(spec, model),
        "--endpoint-type", "chat",
        "--streaming",
        "--synthetic-input-tokens-mean", str(isl),
        "--synthetic-input-tokens-stddev", "0",
        "--output-tokens-mean", str(osl),
        "--output-tokens-stddev", "0",
        "--extra-inputs", "ignore_eos:true",
        "--concurrency", str(concurrency),
        "--request-count", str(request_count(concurrency)),
        "--warmup-request-count", str(concurrency),
        "--random-seed", "42",
        "--artifact-dir", f"{RESULTS_DIR}/{model.name}/c{concurrency}",
    ]  # fmt: skip
    if slo:
        args += ["--goodput", f"time_to_first_token:{slo.ttft_ms:g} inter_token_latency:{slo.itl_ms:g}"]
    return args


def sweep_script(spec: StackSpec, model: ModelSpec) -> str:
    """Wait until the frontend lists the model, then run the sweep; fail the Job if any level fails."""
    url = frontend_url(spec, model)
    wait = (
        "import json, sys, time, urllib.request\n"
        f"deadline = time.time() + {READY_TIMEOUT_S}\n"
        "while time.time() < deadline:\n"
        "    try:\n"
        f"        body = json.load(urllib.request.urlopen('{url}/v1/models', timeout=10))\n"
        f"        if any(m.get('id') == {model.model!r} for m in body.get('data', [])):\n"
        "            sys.exit(0)\n"
        "    except Exception as exc:\n"
        "        print('frontend not ready:', exc, flush=True)\n"
        "    time.sleep(30)\n"
        "sys.exit('frontend never listed the model')\n"
    )
    lines = ["set -eu", f"python3 -c {shlex.quote(wait)}"]
    lines += [shlex.join(aiperf_args(spec, model, c)) for c in model.benchmark.concurrency]
    return "\n".join(lines) + "\n"


def benchmark_job(spec: StackSpec, model: ModelSpec) -> kobj.Manifest:
    ns = model_namespace(spec, model.name)
    env: list[dict[str, Any]] = [{"name": "HF_HOME", "value": C.HF_HOME}]
    if model.token_secret == "hf":
        env.append(
            {
                "name": "HF_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": C.HF_TOKEN_SECRET, "key": "HF_TOKEN", "optional": True}},
            }
        )
    labels = {**LABELS, "inference-ra.nvidia.com/model": model.name}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": kobj.metadata(f"{model.name}-aiperf", ns, labels, annotations={"pulumi.com/skipAwait": "true"}),
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": podsecurity.secure_pod(
                    {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "aiperf",
                                "image": aiperf_image(spec),
                                "command": ["/bin/bash", "-c", sweep_script(spec, model)],
                                "env": env,
                                "resources": {
                                    "requests": {"cpu": "4", "memory": "8Gi"},
                                    "limits": {"cpu": "8", "memory": "16Gi"},
                                },
                                "volumeMounts": [{"name": "model-cache", "mountPath": C.MODEL_CACHE_MOUNT}],
                            }
                        ],
                        "volumes": [
                            {"name": "model-cache", "persistentVolumeClaim": {"claimName": C.MODEL_CACHE_CLAIM}}
                        ],
                    },
                    service_account=podsecurity.BENCHMARK_SA,
                    api_access=False,
                ),
            },
        },
    }


def build(ctx: PlatformContext, parent: pulumi.Resource) -> None:
    """One AIPerf Job per benchmarked model, after its graph (`ctx.serving.graphs`) and cache claim when present."""
    graphs = ctx.serving.graphs
    claims = ctx.storage.model_cache_claims
    accounts: dict[str, pulumi.Resource] = {}
    for model in ctx.spec.serving.models:
        if not model.benchmark.enabled:
            continue
        ns = model_namespace(ctx.spec, model.name)
        if ns not in accounts:  # the Jobs' own identity: no API access
            sa = podsecurity.service_account(podsecurity.BENCHMARK_SA, ns, api_access=False, labels=LABELS)
            accounts[ns] = kobj.apply(sa, ctx.k8s_opts(parent, namespace=ns))
        deps = [d for d in (graphs.get(model.name), claims.get(ns), accounts[ns]) if d is not None]
        kobj.apply(benchmark_job(ctx.spec, model), ctx.k8s_opts(parent, depends_on=deps, namespace=ns))
