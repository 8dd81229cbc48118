#!/usr/bin/env bash
# Every GPU check of issue 17 (item 3) in one call, for the first session lent a GPU machine:
#   bash benchmarks/gpu_checks.sh            (from the repository root; about 5 minutes on one GPU)
# 1. the GPU tests (tests/test_gpu.py: uint8 data resident on the device, no host sync inside the batch
#    loop, bf16, a mapped store sent batch by batch);
# 2. benchmarks/gpu.py's checks: the deep_ae-30 Fashion-MNIST epoch against the < 0.5 s goal with the data
#    resident on the device, fp32 and bf16, and host syncs inside the batch loop;
# 3. torchrun: two processes with DDP on NCCL where the machine has two GPUs, else one process on one GPU;
# 4. the 1- and 2-process CPU epoch (gloo) on this machine's cores, for the ratio beside the 2-core one.
# Everything lands in $OUT (or gpu-checks/); summary.txt holds the lines for benchmarks/RESULTS.md.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-checks}
mkdir -p "$OUT"
export PYTHONPATH=$PWD
status=0
step() {  # step <name> <seconds> <command...>: runs it under a timeout, its output in $OUT/<name>.log
    local name=$1 limit=$2
    shift 2
    echo "== $name" | tee -a "$OUT/summary.txt"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 3 "$OUT/$name.log" | tee -a "$OUT/summary.txt"
    echo "   exit $rc" | tee -a "$OUT/summary.txt"
    [ "$rc" -eq 0 ] || status=1
}

: >"$OUT/summary.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$OUT/summary.txt"
if ! python -c "import sys, torch; print('torch', torch.__version__, 'cuda', torch.version.cuda); sys.exit(not torch.cuda.is_available())" \
        | tee -a "$OUT/summary.txt"; then
    echo "torch sees no CUDA device here: install the CUDA build of torch 2.13.0 first" | tee -a "$OUT/summary.txt"
    exit 2
fi
GPUS=$(python -c "import torch; print(min(2, torch.cuda.device_count()))")

step gpu-tests 240 python -m pytest -q -p no:cacheprovider tests/test_gpu.py
step gpu-bench 300 python -m benchmarks.gpu
step torchrun-gpu 240 python -m torch.distributed.run --standalone --nproc-per-node="$GPUS" -m explorer train deep_ae \
    --dataset fashion-mnist --epochs 1 --device cuda --seed 0 --out "$OUT/deep_ae-torchrun-$GPUS"
python -c "import json, sys; m = json.load(open(sys.argv[1]))['metrics']; print('processes', m['processes'], 'device', m['device'], 'test error', m['test_sq_err_per_image'], 'seconds', m['train_seconds'])" \
    "$OUT/deep_ae-torchrun-$GPUS/config.json" | tee -a "$OUT/summary.txt"
step cpu-epoch-1 180 python -m benchmarks.ddp epoch
step cpu-epoch-2 180 env OMP_NUM_THREADS=$(( $(nproc) / 2 )) python -m torch.distributed.run --standalone --nproc-per-node=2 -m benchmarks.ddp epoch
exit $status
