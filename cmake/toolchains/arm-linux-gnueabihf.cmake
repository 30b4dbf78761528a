# 32-bit Raspberry Pi OS / Debian armhf (ARMv7 hard-float: Pi 2, 3, 4 on a 32-bit OS), Debian multiarch
# cross build. Debian's armhf baseline is ARMv7 + VFPv3-D16 + Thumb-2, so the original Pi 1 and Pi Zero
# (ARMv6) are not covered; Raspberry Pi OS's own armhf is ARMv6 and would need its own toolchain.
# Usage: cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
set(MQTTSN_CROSS_TRIPLET arm-linux-gnueabihf)
set(MQTTSN_CROSS_PROCESSOR armv7l)
set(MQTTSN_CROSS_QEMU qemu-arm)
set(MQTTSN_CROSS_DEBIAN_ARCH armhf)
# GCC on 32-bit ARM notes "parameter passing for argument of type ... changed in GCC 7.1" wherever
# std::sort or a heap is instantiated on a vector iterator (dozens of lines per file): it concerns
# linking with code built by GCC < 7.1, and everything here (the project, Debian's libraries) is built
# by GCC 12.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
