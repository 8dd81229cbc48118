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
#
# The device machine has no datasets, no network, and its own python3 with a CUDA torch. Before the call, here:
#   mkdir -p .gpu-data/fashion-mnist && cp /usr/share/datasets/fashion-mnist/*.gz .gpu-data/fashion-mnist/
#   grep -qx /.gpu-data/ .git/info/exclude || echo /.gpu-data/ >> .git/info/exclude
# then run(command="bash benchmarks/gpu_checks.sh", carry=[".gpu-data"], timeout_s=560): 30 MB travels.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-checks}
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
[ -d .gpu-data ] && export EXPLORER_DATA_DIR=${EXPLORER_DATA_DIR:-$PWD/.gpu-data}
PYTHON=${PYTHON:-python3}
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
$PYTHON -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" | tee -a "$OUT/summary.txt"
if ! $PYTHON -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "torch sees no CUDA device here: run this where torch has CUDA (the device machine's python3)" | tee -a "$OUT/summary.txt"
    exit 2
fi
GPUS=$($PYTHON -c "import torch; print(min(2, torch.cuda.device_count()))")

step gpu-tests 240 $PYTHON -m pytest -q -p no:cacheprovider tests/test_gpu.py
step gpu-bench 300 $PYTHON -m benchmarks.gpu
step torchrun-gpu 240 $PYTHON -m torch.distributed.run --standalone --nproc-per-node="$GPUS" -m explorer train deep_ae \
    --dataset fashion-mnist --epochs 1 --device cuda --seed 0 --out "/tmp/deep_ae-torchrun-$GPUS"
$PYTHON -c "import json, sys; m = json.load(open(sys.argv[1]))['metrics']; print('processes', m['processes'], 'device', m['device'], 'test error', m['test_sq_err_per_image'], 'seconds', m['train_seconds'])" \
    "/tmp/deep_ae-torchrun-$GPUS/config.json" | tee -a "$OUT/summary.txt"
step cpu-epoch-1 180 $PYTHON -m benchmarks.ddp epoch
step cpu-epoch-2 180 env OMP_NUM_THREADS=$(( $(nproc) / 2 )) $PYTHON -m torch.distributed.run --standalone --nproc-per-node=2 -m benchmarks.ddp epoch
exit $status
