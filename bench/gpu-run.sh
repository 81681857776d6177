#!/usr/bin/env bash
# The benchmark on a real GPU (written for an NVIDIA H100), in one go:
#
#   1. does Dawn in Node see the GPU? (bench/probe-adapter.ts; stops here if not,
#      saying what the Vulkan loader lacks)
#   2. PyTorch (cuDNN) on exactly the op and conv rows' shapes
#      (bench/run.ts --emit-specs, then bench/pytorch_ops.py), if torch with CUDA is there
#   3. npm run bench on the hardware adapter with the PyTorch column added, so every
#      ratio (cacnet / tfjs-webgpu / tfjs-cpu / onnxruntime / PyTorch) comes from this run
#
# Usage: bench/gpu-run.sh [OUT_DIR]       (default bench/gpu-results)
#   writes OUT_DIR/RESULTS.md, OUT_DIR/results.json, OUT_DIR/pytorch.json, OUT_DIR/probe.txt
# Environment: GPU_RUN_ADAPTER=swiftshader rehearses the whole script on SwiftShader
#   (step 1 is then reported but not required; PyTorch runs on the CPU if it is installed);
#   GPU_RUN_QUICK=1 passes --quick; GPU_RUN_ARGS adds bench/run.ts options (e.g. --no-cpu);
#   GPU_RUN_TIMEOUT (seconds, default 540) bounds step 3.
# On a machine with no npm registry, run bench/gpu-pack.sh first (here) and carry .gpu along.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/gpu-results}
adapter=${GPU_RUN_ADAPTER:-hardware}
quick=()
[ "${GPU_RUN_QUICK:-0}" = 1 ] && quick=(--quick)
mkdir -p "$out"
say() { printf '\033[1mgpu-run:\033[0m %s\n' "$*"; }

# A machine with no registry gets Node and node_modules from bench/gpu-pack.sh's bundle.
if [ -f .gpu/node.xz ]; then
  command -v node >/dev/null || { say "unpacking Node from the bundle"; mkdir -p .gpu/bin && xz -dc .gpu/node.xz > .gpu/bin/node && chmod +x .gpu/bin/node; }
  export PATH="$PWD/.gpu/bin:$PATH"
  [ -d node_modules ] || { say "unpacking node_modules from the bundle"; tar -xJf .gpu/node_modules.tar.xz || exit 1; }
fi
[ -d node_modules ] || { say "installing npm packages"; npm ci --no-audit --no-fund --loglevel=error || exit 1; }
tsx=(node node_modules/tsx/dist/cli.mjs)   # npx tsx, without npm
# Containers that mount the NVIDIA driver under /usr/local/nvidia keep its Vulkan ICD there.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ] && export VK_DRIVER_FILES=$nvidia_icd

say "1/3 does Dawn see a hardware GPU?"
"${tsx[@]}" bench/probe-adapter.ts 2>&1 | grep -v 'Warning: Vulkan\|While initializing adapter\|at InitializeImpl' | tee "$out/probe.txt"
probe=${PIPESTATUS[0]}
if [ "$probe" -ne 0 ] && [ "$adapter" = hardware ]; then
  say "Dawn finds no hardware adapter: nothing to benchmark on the GPU (see $out/probe.txt)."
  exit 3
fi

pyflag=()
say "2/3 PyTorch on the same shapes"
if python3 -c 'import torch' 2>/dev/null; then
  device=$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
  [ "$adapter" = hardware ] && [ "$device" != cuda ] && say "warning: torch sees no CUDA device; PyTorch runs on the CPU"
  if "${tsx[@]}" bench/run.ts --adapter "$adapter" --emit-specs "$out/specs.json" \
    && python3 bench/pytorch_ops.py --specs "$out/specs.json" --out "$out/pytorch.json" --device "$device"; then
    pyflag=(--pytorch "$out/pytorch.json")
  else
    say "PyTorch step failed; the results will have no PyTorch column"
  fi
else
  say "no torch for python3 (pip install torch): the results will have no PyTorch column"
fi

say "3/3 npm run bench on the $adapter adapter"
timeout "${GPU_RUN_TIMEOUT:-540}" "${tsx[@]}" bench/run.ts --adapter "$adapter" "${quick[@]}" "${pyflag[@]}" ${GPU_RUN_ARGS:-} \
  --out "$out/RESULTS.md" --json "$out/results.json"
rc=$?
[ $rc -eq 0 ] && say "done: $out/RESULTS.md" || say "bench exited $rc"
exit $rc
