# 64-bit Raspberry Pi OS / Debian arm64 (Pi 3, 4, 5, Zero 2 W), Debian multiarch cross build.
# Usage: cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# (scripts/cross-build.sh arm64 installs the compiler, qemu and the :arm64 -dev packages first).
set(MQTTSN_CROSS_TRIPLET aarch64-linux-gnu)
set(MQTTSN_CROSS_PROCESSOR aarch64)
set(MQTTSN_CROSS_QEMU qemu-aarch64)
set(MQTTSN_CROSS_DEBIAN_ARCH arm64)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
