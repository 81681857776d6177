#!/usr/bin/env bash
# Sets up everything cacnet needs on a Debian/Ubuntu machine with Node 20+:
# the Vulkan loader and Chromium (whose SwiftShader driver gives Dawn a CPU
# WebGPU adapter when there is no GPU), the npm packages, and the build.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf '\033[1;31msetup: %s\033[0m\n' "$*" >&2; exit 1; }

# --- Node ---------------------------------------------------------------
command -v node >/dev/null || die "Node.js 20 or newer is required (https://nodejs.org); install it and run ./setup.sh again"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js $node_major found; cacnet needs Node.js 20 or newer"

# --- Debian packages ------------------------------------------------------
missing=()
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || missing+=(libvulkan1)
icd=""
for d in /usr/lib/chromium /usr/lib64/chromium /usr/lib/chromium-browser; do
  [ -f "$d/vk_swiftshader_icd.json" ] && icd="$d/vk_swiftshader_icd.json" && break
done
[ -n "$icd" ] || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    say "cannot install ${missing[*]}: no apt-get on this machine."
    say "cacnet still runs on a machine with a GPU driver; for the CPU fallback install Chromium (SwiftShader) and the Vulkan loader by hand."
  else
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else
        die "need root to install ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}' and then ./setup.sh again"
      fi
    fi
    say "installing Debian packages: ${missing[*]} (for the SwiftShader WebGPU adapter)"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# --- npm packages and build ----------------------------------------------
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "building"
npm run --silent build
say "ready: try 'npm start' (cacnet demo) or 'npx cacnet doctor'"
