#!/bin/bash
# One device-machine run of the acceptance: host facts, the GPU burn-in, then the node suite, all under $OUT.
# Used to record the figures in docs/acceptance.md; `sync` copies the needed files next to it (see the doc).
#   tests/node/device_run.sh TAG GPU_KEY DRIVER_BRANCH
set -u
TAG=${1:?tag} GPU=${2:-h100-sxm-80gb} BRANCH=${3:-580}
OUT=${OUT:-/tmp/acceptance-out}; mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
if ls whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site whl/*.whl || exit 2
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
NGPU=$(nvidia-smi -L | grep -c '^GPU ')
{ echo "date: $(date -u +%FT%TZ)"; echo "hostname: $(hostname)"; echo "kernel: $(uname -r)"; nvidia-smi -L
  nvidia-smi; nvidia-smi topo -m; nvidia-smi nvlink --status
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version())'
  python3 -m pytest --version; nproc; } > "$OUT/host-$TAG.txt" 2>&1
nvidia-smi -q > "$OUT/smi-q-$TAG.txt" 2>&1
python3 -m gpu_nodepools.burnin --gpu "$GPU" --expect-gpus "$NGPU" --report "$OUT/burnin-$TAG.json" > "$OUT/burnin-$TAG.log" 2>&1
echo "burn-in exit code: $?" | tee -a "$OUT/burnin-$TAG.log"
python3 -m pytest tests/node -rA -p no:cacheprovider --hosts=local:// --gpu "$GPU" --gpus "$NGPU" --driver-branch "$BRANCH" \
  --junitxml="$OUT/node-$TAG.xml" > "$OUT/node-$TAG.log" 2>&1
echo "node suite exit code: $?" | tee -a "$OUT/node-$TAG.log"
grep -A40 '^burn-in on' "$OUT/burnin-$TAG.log"; tail -40 "$OUT/node-$TAG.log"
