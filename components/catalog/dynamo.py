"""Dynamo releases as data: one entry per supported release, read by the serving layer and the serving rules.

An entry holds what a release fixes for a stack that deploys it: the platform chart version, the graph CRD
version, the runtime images per engine (and the EFA-enabled variants that release publishes), the EPP image, the
engine versions the runtime images bundle, which engines can publish KV events to the router, and the flags and
environment variables whose names changed between releases (the builders ask `flag(...)` instead of spelling them).

Only releases whose sources could be read are listed. 1.4.0 was read from:
- the `ai-dynamo==1.4.0` wheel on PyPI (the released `dynamo.{vllm,sglang,trtllm,frontend,planner}` sources; its
  METADATA pins `vllm==0.26.0`, `sglang==0.5.16`, `tensorrt-llm==1.3.0rc22`, `nixl==1.3.2`), `kvbm==1.4.0`;
- ai-dynamo/dynamo at the 1.4.0 branch cut e147ceea (../shared/upstream: chart `dynamo-platform` 1.4.0, CRDs with
  `nvidia.com/v1beta1` as the storage version);
- image names: nvcr.io/nvidia/ai-dynamo/{vllm,sglang,tensorrtllm}-runtime:1.4.0 and epp-image:1.4.0 (Dynamo
  release artifacts; the operator's upgrade tests name `epp-image:1.4.0` as the Go EPP of 1.4.0),
  vllm-runtime:1.4.0-efa (the EFA-enabled vLLM runtime with the EFA installer, used by the AWS Dynamo-on-EKS
  samples). No EFA-enabled SGLang or TensorRT-LLM runtime of 1.4.0 was found published: those must be built
  (Dynamo docs/kubernetes/cloud-providers/eks/efa.md, `container/render.py --make-efa`) and named in
  `serving.dynamo.images`.

Reading `serving.dynamo.version` goes through `release()`: a version that is not listed is an error naming the
listed ones (the `dynamo-version` rule reports it with its key path before anything is built).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from components.catalog.versions import CHARTS, ChartRef

ENGINES: tuple[str, ...] = ("vllm", "sglang", "trtllm")
NGC = "nvcr.io/nvidia/ai-dynamo"


@dataclass(frozen=True)
class DynamoRelease:
    version: str
    chart_version: str  # dynamo-platform chart
    graph_api: str  # apiVersion of DynamoGraphDeployment / ScalingAdapter the operator stores
    images: Mapping[str, str]  # engine -> runtime image (frontend and planner run from the engine's image)
    efa_images: Mapping[str, str]  # engine -> published EFA-enabled runtime image (libfabric, EFA installer)
    epp_image: str  # Endpoint Picker of the Inference Gateway path
    engine_versions: Mapping[str, str]  # engine/library -> version the runtime images bundle
    kv_events: frozenset[str]  # engines whose Dynamo worker publishes KV events to the router
    kvbm_object_tier: bool  # KVBM reads an object-store (G4) configuration
    # Names that changed between releases: the builders render `flags[key]`.
    flags: Mapping[str, str] = field(default_factory=dict)
    epp_plugins: frozenset[str] = frozenset()  # EndpointPickerConfig plugin types the release's EPP registers
    source: str = ""

    def chart(self) -> ChartRef:
        """The dynamo-platform chart reference at this release's version (the catalog entry's deploy decision,
        hooks and mirror values kept)."""
        return dataclasses.replace(CHARTS["dynamo-platform"], version=self.chart_version, source=self.source)


DYNAMO_RELEASES: dict[str, DynamoRelease] = {
    r.version: r
    for r in (
        DynamoRelease(
            version="1.4.0",
            chart_version="1.4.0",
            graph_api="nvidia.com/v1beta1",
            images={
                "vllm": f"{NGC}/vllm-runtime:1.4.0",
                "sglang": f"{NGC}/sglang-runtime:1.4.0",
                "trtllm": f"{NGC}/tensorrtllm-runtime:1.4.0",
            },
            efa_images={"vllm": f"{NGC}/vllm-runtime:1.4.0-efa"},
            epp_image=f"{NGC}/epp-image:1.4.0",
            engine_versions={
                "vllm": "0.26.0",
                "sglang": "0.5.16",
                "tensorrt-llm": "1.3.0rc22",
                "nixl": "1.3.2",
                "kvbm": "1.4.0",
            },
            kv_events=frozenset({"vllm", "sglang", "trtllm"}),
            kvbm_object_tier=False,  # kvbm 1.4.0 reads no DYN_KVBM_OBJECT_* variable
            flags={
                # dynamo/trtllm/backend_args.py:44: `--model` (`--model-path` is its obsolete alias)
                "trtllm.model": "--model",
                # dynamo/trtllm/backend_args.py:169: `--publish-kv-events` (was `--publish-events-and-metrics`)
                "trtllm.publish_kv_events": "--publish-kv-events",
                # dynamo/common/configuration/groups/kv_router_args.py:212; DYN_ROUTER_KV_OVERLAP_SCORE_WEIGHT is
                # read only as a deprecated alias (kv_router_args.py:83)
                "frontend.kv_load_scale_env": "DYN_ROUTER_PREFILL_LOAD_SCALE",
            },
            epp_plugins=frozenset(
                {
                    "label-filter",
                    "dyn-decode-scorer",
                    "dyn-prefill-scorer",
                    "disagg-profile-handler",
                    "max-score-picker",
                }
            ),
            source="ai-dynamo 1.4.0 (PyPI wheel; branch cut e147ceea)",
        ),
    )
}
DEFAULT_VERSION = "1.4.0"


class UnknownRelease(ValueError):
    pass


def known_versions() -> list[str]:
    return sorted(DYNAMO_RELEASES)


def release(version: str) -> DynamoRelease:
    """The catalog entry of a Dynamo release; an unknown version names the known ones."""
    try:
        return DYNAMO_RELEASES[version]
    except KeyError:
        raise UnknownRelease(
            f"Dynamo {version!r} is not in the release catalog (components/catalog/dynamo.py); "
            f"supported: {', '.join(known_versions())}"
        ) from None
