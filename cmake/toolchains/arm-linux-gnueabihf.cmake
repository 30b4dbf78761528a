# 32-bit Raspberry Pi OS / Debian armhf (ARMv7 hard-float: Pi 2, 3, 4 on a 32-bit OS), Debian multiarch
# cross build. Debian's armhf baseline is ARMv7 + VFPv3-D16 + Thumb-2, so the original Pi 1 and Pi Zero
# (ARMv6) are not covered; Raspberry Pi OS's own armhf is ARMv6 and would need its own toolchain.
# Usage: cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-linux-gnueabihf.cmake
set(MQTTSN_CROSS_TRIPLET arm-linux-gnueabihf)
set(MQTTSN_CROSS_PROCESSOR armv7l)
set(MQTTSN_CROSS_QEMU qemu-arm)
set(MQTTSN_CROSS_DEBIAN_ARCH armhf)
include(${CMAKE_CURRENT_LIST_DIR}/debian-multiarch.cmake)
