#!/usr/bin/env bash
# Makes nnc's `webgpu` backend usable on Debian/Ubuntu: Dawn (npm `webgpu`, installed by
# `npm install` as an optional dependency) needs the Vulkan loader and a Vulkan driver.
#
# - On a machine with an NVIDIA/AMD/Intel GPU, the GPU driver provides the Vulkan driver;
#   this script adds only the loader (libvulkan1) if it is missing.
# - Without a GPU it installs lavapipe, Mesa's CPU Vulkan driver, so that WebGPU works
#   everywhere (useful for tests; it is slower than the wasm backend, and `--backend auto`
#   skips it). Dawn refuses bookworm's Mesa 22 ("shaderUniform*ArrayDynamicIndexing
#   required"), so on Debian 12 Mesa comes from bookworm-backports (Mesa 25).
#
# Usage: npm run setup-webgpu   (needs root, or sudo, for apt-get)
# Then:  node dist/nnc.mjs train specs/block.nn --backend webgpu
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-webgpu: needs root (or sudo) to install Debian packages: libvulkan1, mesa-vulkan-drivers" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-webgpu: no apt-get here. Install your system's Vulkan loader (libvulkan.so.1) and a Vulkan driver (your GPU's, or Mesa's lavapipe ≥ 23) by hand." >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A GPU whose driver brings its own Vulkan ICD: NVIDIA's driver, or a DRM render node
# (AMD/Intel, whose Vulkan driver is Mesa's, installed below anyway).
has_gpu_icd() {
  command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && return 0
  [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]
}

codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
packages=(libvulkan1)
target=()
if has_gpu_icd; then
  echo "setup-webgpu: a GPU Vulkan driver is present; installing only the Vulkan loader."
else
  packages+=(mesa-vulkan-drivers)
  if [ "$codename" = "bookworm" ]; then
    list=/etc/apt/sources.list.d/nnc-bookworm-backports.list
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee "$list" >/dev/null
      echo "setup-webgpu: added bookworm-backports ($list) for Mesa 25's lavapipe."
    fi
    target=(-t bookworm-backports)
  fi
fi
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${target[@]}" "${packages[@]}"
echo "setup-webgpu: done. Try: node dist/nnc.mjs train specs/block.nn --backend webgpu"
