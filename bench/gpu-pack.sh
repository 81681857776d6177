#!/usr/bin/env bash
# Packs what bench/gpu-run.sh needs on a GPU machine that can reach no package registry
# (the device tool's H100/H200): this Node binary, node_modules pruned to linux-x64 and
# to what the benchmark loads, and the Debian packages of the Vulkan loader and of
# libglvnd (NVIDIA's Vulkan driver, libGLX_nvidia, needs its dispatch library), into
# .gpu/ (ignored by git; about 39 MB). Carry .gpu to the machine, then there:
#
#   for f in .gpu/*.deb; do dpkg -x "$f" /; done; ldconfig; bash bench/gpu-run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
echo "gpu-pack: node $(node --version)"
xz -T0 -9 -c "$(command -v node)" > .gpu/node.xz
echo "gpu-pack: node_modules (linux-x64 only, no build or test tooling)"
tar -cf - \
  --exclude='node_modules/webgpu/dist/darwin-*' --exclude='node_modules/webgpu/dist/linux-arm64' --exclude='node_modules/webgpu/dist/win32-*' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v3/darwin' --exclude='node_modules/onnxruntime-node/bin/napi-v3/win32' \
  --exclude='node_modules/onnxruntime-node/bin/napi-v3/linux/arm64' \
  --exclude='node_modules/@rolldown' --exclude='node_modules/@typescript' --exclude='node_modules/typescript' \
  --exclude='node_modules/playwright*' --exclude='node_modules/lightningcss*' --exclude='node_modules/vite' \
  --exclude='node_modules/vitest' --exclude='node_modules/@vitest' --exclude='*.map' \
  --exclude='node_modules/@tensorflow/*/dist/*.min.js' --exclude='node_modules/@tensorflow/*/dist/*.es2017.js' \
  --exclude='node_modules/@tensorflow/*/dist/*.fesm.js' --exclude='node_modules/@tensorflow/*/dist/*.fesm.min.js' \
  node_modules | xz -T0 -9 > .gpu/node_modules.tar.xz
echo "gpu-pack: libvulkan1 (the Vulkan loader Dawn opens) and libglvnd (what the NVIDIA driver's ICD loads)"
(cd .gpu && rm -f ./*.deb && apt-get download libvulkan1 libglvnd0 libegl1 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
du -ch .gpu/* | sed 's/^/gpu-pack: /'
