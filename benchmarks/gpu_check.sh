#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one script (the project's own machines have none): the GPU tests, the fast
# paths' step times, fp32 / bf16 / fp16 at an equal number of images with their FIDs, and the whole test suite
# on that machine (the tests marked gpu on the GPU, the others on its CPU, as tests/conftest.py arranges). Each part has its own time limit; logs go to $OUT (or
# runs/gpu-check). The suite's part needs pytest-xdist and pytest-timeout (the GPU machine used here had both).
#
#     bash benchmarks/gpu_check.sh            # with python3 holding a CUDA build of torch
#
# Optional: WHEELS=dir of wheels to install first (packages the GPU machine lacks), GANVAE_DATA=folder with the
# Fashion-MNIST IDX files.
set -u
cd "$(dirname "$0")/.."
out=${OUT:-runs/gpu-check}
mkdir -p "$out"
py=${PYTHON:-python3}
if [ -n "${WHEELS:-}" ]; then
  $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site "$WHEELS"/*.whl \
    && export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
part() {  # part NAME SECONDS COMMAND...: run with a limit, keep the log, say how it ended
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" >"$out/$name.txt" 2>&1
  local rc=$?
  echo "== $name: rc $rc, $((SECONDS - start)) s" | tee -a "$out/summary.txt"
  tail -n 25 "$out/$name.txt"
}
part env 60 bash -c "nvidia-smi -L; $py -c 'import sys, torch; print(sys.version); print(torch.__version__, \
torch.version.cuda, torch.cuda.get_device_name(0), \"bf16\", torch.cuda.is_bf16_supported())'"
part cuda-tests 120 $py -m pytest -p no:cacheprovider -rfs -s tests/train/test_cuda.py \
  tests/train/test_precision_and_arch.py
part fast-paths 90 bash -c "$py benchmarks/bench_fast_paths.py --device cuda --family gan --batch-size 32 \
--repeats 5 --steps 20 && $py benchmarks/bench_fast_paths.py --device cuda --family vae --batch-size 128 \
--repeats 5 --steps 20"
part precision ${PRECISION_SECONDS:-240} $py benchmarks/bench_cuda_precision.py --steps ${STEPS:-1500} \
  --seeds 0 1 --n-eval 5000 --json "$out/precision.json"
part suite ${SUITE_SECONDS:-300} env OMP_NUM_THREADS=1 $py -m pytest -p no:cacheprovider -rf --tb=short -n 14 \
  --timeout 120 -p no:benchmark tests
