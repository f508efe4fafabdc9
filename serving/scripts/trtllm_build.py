"""Build a TensorRT-LLM engine for one tensor-parallel size with the LLM API (TensorRT backend) and save it.

Run by the inference-ra engine-build Job (serving/optimization.py) in the TensorRT-LLM release image.
Idempotent: a finished build writes `.complete` and is kept. Environment: SOURCE (HF checkpoint, e.g. the
ModelOpt export), OUTPUT, TP, MAX_BATCH_SIZE, MAX_NUM_TOKENS, MAX_SEQ_LEN, HF_HOME, HF_TOKEN (optional).
"""

import os
import pathlib
import sys

out = pathlib.Path(os.environ["OUTPUT"])
if (out / ".complete").exists():
    print(f"{out} already holds a finished engine; nothing to do")
    sys.exit(0)

from tensorrt_llm import BuildConfig  # noqa: E402

try:  # TensorRT-LLM >= 1.0: the TensorRT-engine LLM lives here (the default LLM is the PyTorch backend)
    from tensorrt_llm._tensorrt_engine import LLM
except ImportError:  # older releases: the default LLM builds TensorRT engines
    from tensorrt_llm import LLM  # type: ignore[no-redef]

build = BuildConfig(
    max_batch_size=int(os.environ["MAX_BATCH_SIZE"]),
    max_num_tokens=int(os.environ["MAX_NUM_TOKENS"]),
    max_seq_len=int(os.environ["MAX_SEQ_LEN"]),
)
llm = LLM(model=os.environ["SOURCE"], tensor_parallel_size=int(os.environ["TP"]), build_config=build)
out.mkdir(parents=True, exist_ok=True)
llm.save(str(out))
(out / ".complete").write_text(f"{os.environ['SOURCE']} tp{os.environ['TP']}\n")
print(f"saved TP{os.environ['TP']} engine of {os.environ['SOURCE']} to {out}")
