"""Model architectures: what the planner and the spec rules need to size a deployment.

Sources: each model's Hugging Face `config.json` (meta-llama/Llama-3.1-8B-Instruct, -70B-Instruct,
-405B-Instruct, Llama-3.3-70B-Instruct; Qwen/Qwen3-32B; deepseek-ai/DeepSeek-R1 and DeepSeek-V3;
openai/gpt-oss-120b and openai/gpt-oss-20b) and the model cards for parameter counts. DeepSeek uses multi-head
latent attention (MLA): its KV cache per token and layer is `kv_lora_rank + qk_rope_head_dim` values, not
`2 x kv_heads x head_dim`.
"""

from __future__ import annotations

from dataclasses import dataclass

DTYPE_BYTES: dict[str, float] = {
    "fp32": 4,
    "bf16": 2,
    "fp16": 2,
    "fp8": 1,
    "int8": 1,
    "nvfp4": 0.5,
    "mxfp4": 0.5,
}


@dataclass(frozen=True)
class Architecture:
    key: str
    params_b: float  # total parameters, billions
    active_params_b: float  # parameters used per token (== params_b for dense models)
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    max_context: int
    native_dtype: str  # dtype of the published weights
    experts: int = 0  # routed experts (0 = dense)
    experts_per_token: int = 0
    kv_lora_rank: int = 0  # MLA only
    qk_rope_head_dim: int = 0  # MLA only
    vocab_size: int = 0  # embedding rows (config.json vocab_size); 0 = unknown (the planner then streams all)
    source: str = ""

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def uses_mla(self) -> bool:
        return self.kv_lora_rank > 0

    def kv_values_per_token(self) -> int:
        """KV-cache elements stored per token across all layers."""
        if self.uses_mla:
            return self.layers * (self.kv_lora_rank + self.qk_rope_head_dim)
        return 2 * self.layers * self.kv_heads * self.head_dim

    def kv_bytes_per_token(self, kv_dtype: str = "bf16") -> int:
        return int(self.kv_values_per_token() * DTYPE_BYTES[kv_dtype])

    def weights_bytes(self, weights_dtype: str) -> int:
        return int(self.params_b * 1e9 * DTYPE_BYTES[weights_dtype])

    def expert_params(self) -> tuple[float, float]:
        """(one routed expert's parameters, all routed experts' parameters); (0, 0) for a dense model. From the
        totals: per_expert = (total - active) / (E - k)."""
        if not self.is_moe:
            return 0.0, 0.0
        per_expert = (self.params_b - self.active_params_b) * 1e9 / (self.experts - self.experts_per_token)
        return per_expert, per_expert * self.experts

    def weights_bytes_per_gpu(self, weights_dtype: str, tp: int = 1, pp: int = 1, dp: int = 1) -> float:
        """Weight bytes on each GPU of a replica of tp x pp x dp GPUs: the non-expert part is sharded over a DP
        rank's tp x pp GPUs (and replicated on every DP rank), the routed experts over all tp x pp x dp GPUs
        (vLLM data/expert-parallel deployment docs; the planner and the spec rule weights-fit-hbm both use this)."""
        _, experts = self.expert_params()
        b = DTYPE_BYTES[weights_dtype]
        return (self.params_b * 1e9 - experts) * b / (tp * pp) + experts * b / (tp * pp * dp)


_HF = "Hugging Face config.json of "

ARCHITECTURES: dict[str, Architecture] = {
    a.key: a
    for a in (
        Architecture(
            "llama-3.1-8b",
            8.03,
            8.03,
            32,
            4096,
            32,
            8,
            128,
            131072,
            "bf16",
            vocab_size=128256,
            source=_HF + "meta-llama/Llama-3.1-8B-Instruct",
        ),
        Architecture(
            "llama-3.1-70b",
            70.6,
            70.6,
            80,
            8192,
            64,
            8,
            128,
            131072,
            "bf16",
            vocab_size=128256,
            source=_HF + "meta-llama/Llama-3.1-70B-Instruct",
        ),
        Architecture(
            "llama-3.1-405b",
            405.9,
            405.9,
            126,
            16384,
            128,
            8,
            128,
            131072,
            "bf16",
            vocab_size=128256,
            source=_HF + "meta-llama/Llama-3.1-405B-Instruct",
        ),
        Architecture(
            "llama-3.3-70b",
            70.6,
            70.6,
            80,
            8192,
            64,
            8,
            128,
            131072,
            "bf16",
            vocab_size=128256,
            source=_HF + "meta-llama/Llama-3.3-70B-Instruct",
        ),
        Architecture(
            "qwen3-32b",
            32.8,
            32.8,
            64,
            5120,
            64,
            8,
            128,
            40960,
            "bf16",
            vocab_size=151936,
            source=_HF + "Qwen/Qwen3-32B",
        ),
        Architecture(
            "deepseek-r1",
            671.0,
            37.0,
            61,
            7168,
            128,
            128,
            128,
            163840,
            "fp8",
            experts=256,
            experts_per_token=8,
            kv_lora_rank=512,
            qk_rope_head_dim=64,
            vocab_size=129280,
            source=_HF + "deepseek-ai/DeepSeek-R1 (MLA, 256 routed experts, top-8)",
        ),
        Architecture(
            "deepseek-v3",
            671.0,
            37.0,
            61,
            7168,
            128,
            128,
            128,
            163840,
            "fp8",
            experts=256,
            experts_per_token=8,
            kv_lora_rank=512,
            qk_rope_head_dim=64,
            vocab_size=129280,
            source=_HF + "deepseek-ai/DeepSeek-V3 (MLA, 256 routed experts, top-8)",
        ),
        Architecture(
            "gpt-oss-120b",
            116.8,
            5.1,
            36,
            2880,
            64,
            8,
            64,
            131072,
            "mxfp4",
            experts=128,
            experts_per_token=4,
            vocab_size=201088,
            source=_HF + "openai/gpt-oss-120b (MoE weights in MXFP4)",
        ),
        Architecture(
            "gpt-oss-20b",
            20.9,
            3.6,
            24,
            2880,
            64,
            8,
            64,
            131072,
            "mxfp4",
            experts=32,
            experts_per_token=4,
            vocab_size=201088,
            source=_HF + "openai/gpt-oss-20b (MoE weights in MXFP4); 20.9B total / 3.6B active per its model card",
        ),
    )
}
