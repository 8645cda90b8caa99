#!/usr/bin/env bash
# Sets up genmodels on a fresh Debian machine (run as root, or with sudo available):
#   system packages (libtorch, OpenBLAS, PyTorch as numeric reference, datasets), npm packages,
#   the native libtorch addon, and the TypeScript build. Idempotent: re-running skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
native_failed=""

APT_PACKAGES=(
  libtorch-dev          # libtorch 1.13.1: the native backend links against it
  libgloo-dev           # Gloo's headers, which libtorch's c10d ProcessGroupGloo.hpp includes (data-parallel training)
  libopenblas0-openmp   # without it Debian's torch uses the reference BLAS (~10x slower matmuls)
  python3-torch         # PyTorch: reference numbers in tests, reference timings in the benchmark
  dataset-fashion-mnist # Fashion-MNIST (gzipped idx)
  python3-sklearn       # small real CSVs: digits, breast_cancer
  fonts-dejavu-core     # the font plots are rasterized with (resvg needs a real font file)
  chromium              # headless browser for the playground's real-browser tests (driven by playwright-core)
  g++ make python3      # node-gyp toolchain
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libtorch-dev pulls in the pthread OpenBLAS, which has priority; torch's OpenMP thread pool wants the
# OpenMP build (the pthread one oversubscribes the cores). Select it for BLAS and LAPACK.
arch_dir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  alt="$lib-$(basename "$arch_dir")"
  target="$arch_dir/openblas-openmp/$lib"
  if [ -e "$target" ] && [ "$(readlink -f "/etc/alternatives/$alt" 2>/dev/null)" != "$target" ]; then
    ${SUDO:-} update-alternatives --set "$alt" "$target" >/dev/null 2>&1 || echo "setup: warning: could not select $target"
  fi
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

addon=native/build/Release/torch_addon.node
if [ -f "$addon" ] && [ "$addon" -nt native/torch_addon.cc ] && [ "$addon" -nt native/dist.cc ] && [ "$addon" -nt native/binding.gyp ] && [ -z "${LIBTORCH:-}" ]; then
  echo "setup: native libtorch backend is up to date"
else
  echo "setup: building the native libtorch backend"
  # a failed build leaves a working library (wasm, then cpu backend): say so at the end, do not stop here
  npm run --silent build:native || native_failed=1
fi

echo "setup: compiling TypeScript"
npm run --silent build
echo "setup: bundling the browser playground (dist/playground)"
npm run --silent build:web
echo "setup: done; $(node dist/src/cli/main.js info 2>/dev/null | head -n 1)"
if [ -n "${native_failed:-}" ]; then
  echo "setup: WARNING: the native libtorch backend did not build (errors above); genmodels runs on wasm (slower)"
fi
