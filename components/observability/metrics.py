"""The metric names alerts and dashboards may use, with where they come from.

A test parses every rule and panel expression and fails on a metric that is not listed here, so a renamed upstream
metric surfaces as a failing test instead of a silent, never-firing alert.

Sources:
- Dynamo 1.4 `lib/runtime/src/metrics/prometheus_names.rs` and the Dynamo metrics catalog (docs.nvidia.com/dynamo,
  v1.4.0 "Metrics Catalog"): frontend `dynamo_frontend_*` on the frontend HTTP port, worker `dynamo_component_*` on
  DYN_SYSTEM_PORT, KVBM `kvbm_*` on DYN_KVBM_METRICS_PORT (6880) when DYN_KVBM_METRICS=true.
- DCGM exporter field names (DCGM `dcgm_fields.h`; dcgm-exporter `default-counters.csv`).
- kube-state-metrics v2 (`kube_node_status_condition`, `kube_pod_status_phase`, `kube_pod_container_resource_requests`).
- Triton Inference Server metrics (docs: "Metrics", `nv_inference_*` on port 8002).
- NATS prometheus-nats-exporter (`gnatsd_*`).
"""

from __future__ import annotations

DYNAMO_FRONTEND = frozenset(
    {
        "dynamo_frontend_requests_total",
        "dynamo_frontend_inflight_requests",
        "dynamo_frontend_queued_requests",
        "dynamo_frontend_request_duration_seconds_bucket",
        "dynamo_frontend_time_to_first_token_seconds_bucket",
        "dynamo_frontend_inter_token_latency_seconds_bucket",
        "dynamo_frontend_input_sequence_tokens_bucket",
        "dynamo_frontend_output_sequence_tokens_bucket",
        "dynamo_frontend_output_tokens_total",
    }
)
DYNAMO_WORKER = frozenset(
    {
        "dynamo_component_requests_total",
        "dynamo_component_errors_total",
        "dynamo_component_inflight_requests",
        "dynamo_component_kvstats_active_blocks",
        "dynamo_component_kvstats_total_blocks",
        "dynamo_component_kvstats_gpu_cache_usage_percent",
        "dynamo_component_kvstats_gpu_prefix_cache_hit_rate",
    }
)
KVBM = frozenset(
    {
        "kvbm_offload_blocks_d2h",
        "kvbm_offload_blocks_h2d",
        "kvbm_onboard_blocks_h2d",
        "kvbm_onboard_blocks_d2d",
        "kvbm_matched_tokens",
        "kvbm_host_cache_hit_rate",
        "kvbm_disk_cache_hit_rate",
    }
)
DCGM = frozenset(
    {
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_SM_CLOCK",
        "DCGM_FI_DEV_XID_ERRORS",
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
        "DCGM_FI_DEV_ROW_REMAP_FAILURE",
        "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
        "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
        "DCGM_FI_PROF_DRAM_ACTIVE",
        "DCGM_FI_PROF_NVLINK_TX_BYTES",
        "DCGM_FI_PROF_NVLINK_RX_BYTES",
    }
)
KUBE = frozenset(
    {
        "kube_node_status_condition",
        "kube_pod_status_phase",
        "kube_pod_container_resource_requests",
        "kube_node_labels",
    }
)
TRITON = frozenset(
    {
        "nv_inference_request_success",
        "nv_inference_request_failure",
        "nv_inference_queue_duration_us",
        "nv_inference_compute_infer_duration_us",
        "nv_inference_count",
    }
)
NATS = frozenset({"gnatsd_varz_connections", "gnatsd_varz_in_msgs", "gnatsd_varz_out_msgs", "gnatsd_varz_mem"})

KNOWN_METRICS: frozenset[str] = DYNAMO_FRONTEND | DYNAMO_WORKER | KVBM | DCGM | KUBE | TRITON | NATS

# The DCGM exporter counter set we ship (dcgm-exporter uses a custom CSV as the WHOLE set, so it lists everything
# alerts and dashboards use). Format: field, Prometheus type, help.
DCGM_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz)."),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C)."),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W)."),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %)."),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB)."),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB)."),
    ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered."),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors."),
    ("DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for uncorrectable errors."),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed."),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active."),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor (HMMA) pipe is active."),
    ("DCGM_FI_PROF_DRAM_ACTIVE", "gauge", "Ratio of cycles the device memory interface is active."),
    ("DCGM_FI_PROF_NVLINK_TX_BYTES", "counter", "Bytes of active NvLink tx data including both header and payload."),
    ("DCGM_FI_PROF_NVLINK_RX_BYTES", "counter", "Bytes of active NvLink rx data including both header and payload."),
)


def dcgm_metrics_csv() -> str:
    return "".join(f"{name}, {kind}, {help_}\n" for name, kind, help_ in DCGM_COUNTERS)
