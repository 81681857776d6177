#!/usr/bin/env bash
# The benchmark on a real GPU (written for an NVIDIA H100/H200), in one go, in under
# 8 minutes including every pipeline compilation:
#
#   1. does Dawn in Node see the GPU? (bench/probe-adapter.ts; stops here if not,
#      saying what the Vulkan loader lacks)
#   2. PyTorch eager fp32, TF32 off, on the same card: the op and conv rows' shapes
#      (bench/run.ts --emit-specs, bench/pytorch_ops.py) and CAC-Net's forward, training
#      step (demo and paper config) and the scan's window forwards (bench/pytorch_cacnet.py),
#      if torch with CUDA is there
#   3. bench/run.ts on the hardware adapter: roofline, conv rows, op rows, one CAC-Net
#      training step in the demo and the paper config (16x64x64), and one 60x512x512 scan
#      scored through `cacnet infer`, each against tfjs-webgpu (same adapter) and PyTorch
#
# Usage: bench/gpu-run.sh [OUT_DIR]       (default bench/gpu-results)
#   writes OUT_DIR/RESULTS.md, results.json, pytorch.json, probe.txt, run.log
# Environment: GPU_RUN_ADAPTER=swiftshader rehearses the whole script on SwiftShader
#   (step 1 is then reported but not required; PyTorch runs on the CPU if it is installed);
#   GPU_RUN_QUICK=1 passes --quick; GPU_RUN_ARGS adds or overrides bench/run.ts options
#   (the rehearsal: --kernels gpu --compute-units 132 --patch 8,16,16 --scan 24,96,96);
#   GPU_RUN_TIMEOUT (seconds, default 390) bounds step 3, GPU_RUN_TORCH_TIMEOUT (default 60) step 2.
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

# Every suite, both network configurations, the full-size scan; GPU_RUN_ARGS comes last and wins.
suites=(--only roofline,conv,ops,network,scan --configs demo,paper --scan 60,512,512 --no-cpu)
pyflag=()
say "2/3 PyTorch on the same shapes"
if python3 -c 'import torch' 2>/dev/null; then
  device=$(python3 -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
  [ "$adapter" = hardware ] && [ "$device" != cuda ] && say "warning: torch sees no CUDA device; PyTorch runs on the CPU"
  if "${tsx[@]}" bench/run.ts --adapter "$adapter" "${suites[@]}" ${GPU_RUN_ARGS:-} --emit-specs "$out/specs.json" \
    && timeout "${GPU_RUN_TORCH_TIMEOUT:-60}" python3 bench/pytorch_ops.py --specs "$out/specs.json" --out "$out/pytorch.json" --device "$device" --budget 0.3; then
    pyflag=(--pytorch "$out/pytorch.json")
    timeout "${GPU_RUN_TORCH_TIMEOUT:-60}" python3 bench/pytorch_cacnet.py --specs "$out/specs-network.json" --merge "$out/pytorch.json" --device "$device" \
      || say "PyTorch CAC-Net failed; the network rows will have no PyTorch column"
  else
    say "PyTorch step failed; the results will have no PyTorch column"
  fi
else
  say "no torch for python3 (pip install torch): the results will have no PyTorch column"
fi

say "3/3 bench/run.ts on the $adapter adapter"
timeout "${GPU_RUN_TIMEOUT:-390}" "${tsx[@]}" bench/run.ts --adapter "$adapter" "${suites[@]}" "${quick[@]}" "${pyflag[@]}" ${GPU_RUN_ARGS:-} \
  --out "$out/RESULTS.md" --json "$out/results.json" 2>&1 | tee "$out/run.log"
rc=${PIPESTATUS[0]}
[ $rc -eq 0 ] && say "done: $out/RESULTS.md" || say "bench exited $rc"
exit $rc
