#!/usr/bin/env bash
# Installs the Debian packages exmy needs, only when some are missing (fresh Debian 12, as root).
set -euo pipefail
pkgs=(g++ cmake make git libboost-dev libeigen3-dev doctest-dev librandom123-dev libcli11-dev
      nlohmann-json3-dev libomp-dev clang python3 python3-numpy python3-scipy python3-mpmath
      zlib1g-dev libonnx-dev libprotobuf-dev python3-onnx python-matplotlib-data
      dataset-fashion-mnist libclang-rt-14-dev
      libstb-dev python3-matplotlib python3-pandas python3-pytest python3-nbformat clang-tools-19)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "exmy: installing missing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
