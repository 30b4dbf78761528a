# Shared body of the Debian multiarch cross toolchains (aarch64-linux-gnu.cmake, arm-linux-gnueabihf.cmake
# set MQTTSN_CROSS_TRIPLET, MQTTSN_CROSS_PROCESSOR and MQTTSN_CROSS_QEMU, then include this file).
#
# Debian multiarch, not a sysroot: the target's libraries are Debian's own :arm64/:armhf packages,
# installed beside the host's (dpkg --add-architecture; scripts/cross-build.sh does it), so headers
# live in /usr/include + /usr/include/<triplet> and libraries in /usr/lib/<triplet>. The cross compiler
# (crossbuild-essential-<arch>) already searches those; CMake, pkg-config and the test runner are told
# here.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${MQTTSN_CROSS_PROCESSOR})
set(CMAKE_LIBRARY_ARCHITECTURE ${MQTTSN_CROSS_TRIPLET})

set(CMAKE_C_COMPILER ${MQTTSN_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${MQTTSN_CROSS_TRIPLET}-g++)

# /usr/<triplet> holds the cross libc/libstdc++ (libc6-dev-<arch>-cross). Everything else is found on
# the host's own paths, where CMAKE_LIBRARY_ARCHITECTURE makes find_library/find_package look in
# /usr/lib/<triplet> and never in /usr/lib/x86_64-linux-gnu. Programs (pkg-config, qemu) are the host's.
set(CMAKE_FIND_ROOT_PATH /usr/${MQTTSN_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must see the target's .pc files only: the host's /usr/lib/x86_64-linux-gnu/pkgconfig
# would hand out amd64 libraries. LIBDIR replaces the default search path; PKG_CONFIG_PATH (which
# would be searched first) is cleared for the same reason.
set(PKG_CONFIG_EXECUTABLE pkg-config CACHE FILEPATH "pkg-config (host program, target .pc files)")
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${MQTTSN_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
unset(ENV{PKG_CONFIG_SYSROOT_DIR})

# Test binaries (doctest_discover_tests at build time, ctest afterwards) run under user-mode qemu,
# called explicitly: binfmt_misc is often missing in containers and CI, so nothing relies on it.
# The runtime is the multiarch one (libc6:<arch>, libstdc++6:<arch>, ... from /lib/<triplet>), the same
# Debian libraries a Raspberry Pi has; "-L /" keeps qemu from looking in /usr/gnemul. Only when the
# multiarch libc is missing do we fall back to the cross toolchain's copy in /usr/<triplet>: mixing the
# cross ld.so (/usr/<triplet>/lib) with the multiarch libc.so.6 is a glibc version mismatch.
find_program(MQTTSN_CROSS_QEMU_PROGRAM NAMES ${MQTTSN_CROSS_QEMU}-static ${MQTTSN_CROSS_QEMU})
if(MQTTSN_CROSS_QEMU_PROGRAM)
  if(EXISTS /usr/lib/${MQTTSN_CROSS_TRIPLET}/libc.so.6 OR EXISTS /lib/${MQTTSN_CROSS_TRIPLET}/libc.so.6)
    set(_mqttsn_qemu_prefix /)
  else()
    set(_mqttsn_qemu_prefix /usr/${MQTTSN_CROSS_TRIPLET})
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MQTTSN_CROSS_QEMU_PROGRAM} -L ${_mqttsn_qemu_prefix})
  unset(_mqttsn_qemu_prefix)
else()
  message(WARNING "${MQTTSN_CROSS_QEMU}-static not found (apt-get install qemu-user-static): "
                  "the tests can be built but not discovered or run")
endif()
