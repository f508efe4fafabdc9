"""Quantize a Hugging Face checkpoint with TensorRT Model Optimizer (post-training quantization) and export a
unified Hugging Face checkpoint (safetensors + hf_quant_config.json) that vLLM, SGLang and TensorRT-LLM load.

Run by the inference-ra quantization Job (serving/optimization.py) in the TensorRT-LLM release image, which ships
nvidia-modelopt, transformers and datasets. Idempotent: an export that finished writes `.complete` and is kept.
Environment: SOURCE (HF repo id or path), OUTPUT (directory), QFORMAT (fp8 | nvfp4), CALIB_DATASET,
CALIB_SAMPLES, CALIB_SEQ_LEN, HF_HOME (the model cache), HF_TOKEN (optional).
"""

import os
import pathlib
import sys

import torch

out = pathlib.Path(os.environ["OUTPUT"])
if (out / ".complete").exists():
    print(f"{out} already holds a finished export; nothing to do")
    sys.exit(0)

import modelopt.torch.quantization as mtq  # noqa: E402
from datasets import load_dataset  # noqa: E402
from modelopt.torch.export import export_hf_checkpoint  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

configs = {"fp8": mtq.FP8_DEFAULT_CFG, "nvfp4": mtq.NVFP4_DEFAULT_CFG}
source, qformat = os.environ["SOURCE"], os.environ["QFORMAT"]
samples, seq_len = int(os.environ["CALIB_SAMPLES"]), int(os.environ["CALIB_SEQ_LEN"])
dataset = os.environ["CALIB_DATASET"]

tokenizer = AutoTokenizer.from_pretrained(source)
model = AutoModelForCausalLM.from_pretrained(source, torch_dtype=torch.bfloat16, device_map="auto")
model.eval()

if dataset == "cnn_dailymail":
    texts = load_dataset("cnn_dailymail", "3.0.0", split="train")["article"][:samples]
else:
    rows = load_dataset(dataset, split="train")
    column = "text" if "text" in rows.column_names else rows.column_names[0]
    texts = rows[column][:samples]


def forward_loop(m: torch.nn.Module) -> None:
    for text in texts:
        ids = tokenizer(text, return_tensors="pt", truncation=True, max_length=seq_len).input_ids
        with torch.no_grad():
            m(ids.to(m.device))


model = mtq.quantize(model, configs[qformat], forward_loop)
out.mkdir(parents=True, exist_ok=True)
with torch.inference_mode():
    export_hf_checkpoint(model, export_dir=str(out))
tokenizer.save_pretrained(str(out))
(out / ".complete").write_text(f"{source} {qformat} {dataset} {samples}\n")
print(f"exported {qformat} checkpoint of {source} to {out}")
