# CPack: the Debian package mqttsn-gw_<version>_<arch>.deb, for this machine or, in a tree configured
# with cmake/toolchains/<triplet>.cmake, for the Raspberry Pi (scripts/cross-build.sh does both).
# Included at the END of the top-level CMakeLists.txt, after every install() rule (CPack itself only
# reads the rules at packaging time). Build it with: cmake --build B && (cd B && cpack -G DEB)
#
# Configure package trees with -DCMAKE_INSTALL_PREFIX=/usr: the unit and the configuration are installed
# to absolute paths (CMAKE_INSTALL_FULL_SYSCONFDIR is /etc only when the prefix is /usr).

set(CPACK_PACKAGE_NAME mqttsn-gw)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "mqttsn-gw")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "MQTT-SN 1.2 to MQTT 3.1.1 gateway for ZigBee/XBee and UDP sensor nodes")
set(CPACK_PACKAGE_CONTACT "mqttsn-gw maintainers <mqttsn-gw@localhost>" CACHE STRING
    "Debian Maintainer field of the .deb")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Release binaries go on a small SD card: strip them (CMAKE_STRIP is the target's strip when cross).
set(CPACK_STRIP_FILES ON)

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "Packaging: CMAKE_INSTALL_PREFIX is ${CMAKE_INSTALL_PREFIX}; configure with "
                 "-DCMAKE_INSTALL_PREFIX=/usr for a .deb whose /etc and unit paths are right")
endif()

# --- Architecture: the target's, not the build machine's -------------------------------------------
# The toolchain files name it (MQTTSN_CROSS_DEBIAN_ARCH); another cross toolchain is mapped from its
# processor; a native build asks dpkg.
function(mqttsn_debian_architecture out)
  if(MQTTSN_CROSS_DEBIAN_ARCH)
    set(arch ${MQTTSN_CROSS_DEBIAN_ARCH})
  elseif(CMAKE_CROSSCOMPILING)
    string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" cpu)
    if(cpu MATCHES "^(aarch64|arm64)$")
      set(arch arm64)
    elseif(cpu MATCHES "^arm")
      set(arch armhf)
    elseif(cpu MATCHES "^(x86_64|amd64)$")
      set(arch amd64)
    elseif(cpu MATCHES "^i.86$")
      set(arch i386)
    else()
      message(FATAL_ERROR "Packaging: no Debian architecture for processor '${CMAKE_SYSTEM_PROCESSOR}': "
                          "set CPACK_DEBIAN_PACKAGE_ARCHITECTURE")
    endif()
  else()
    find_program(MQTTSN_DPKG dpkg)
    if(MQTTSN_DPKG)
      execute_process(COMMAND ${MQTTSN_DPKG} --print-architecture OUTPUT_VARIABLE arch
                      OUTPUT_STRIP_TRAILING_WHITESPACE)
    endif()
  endif()
  set(${out} "${arch}" PARENT_SCOPE)
endfunction()

if(NOT CPACK_DEBIAN_PACKAGE_ARCHITECTURE)
  mqttsn_debian_architecture(CPACK_DEBIAN_PACKAGE_ARCHITECTURE)
endif()

# --- Control fields ----------------------------------------------------------------------------------
set(CPACK_DEBIAN_PACKAGE_NAME mqttsn-gw)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # mqttsn-gw_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The Description: line is CPACK_PACKAGE_DESCRIPTION_SUMMARY; this is the extended text below it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Bridges battery-powered sensor nodes that speak MQTT-SN 1.2 over a ZigBee coordinator
(XBee API mode on a serial port) or UDP to any MQTT 3.1.1 broker over one aggregating
connection, with TLS, QoS 0/1/2 and -1, sleeping clients, predefined topics and an
access list. Ships the mqttsn-gw daemon, its systemd unit, an example configuration
in /etc/mqttsn-gw, mqttsn-gwctl to inspect a running gateway and mqttsn-gwweb, its
web page (a service of its own, not enabled).")
# Depends: the shared libraries' Debian packages, computed by dpkg-shlibdeps from the ELF files, for the
# target architecture; plus what the maintainer scripts call, and Paho, which mqttsn-gw loads with
# dlopen() (bridge/paho_library.hpp) so dpkg-shlibdeps cannot see it.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | adduser, libpaho-mqtt1.3 (>= 1.3.0)")
# mqttsn-gwweb's libuv event loop is a libwebsockets plugin, loaded at run time (dpkg-shlibdeps cannot
# see it either); only the web page needs it, which is off by default.
if(MQTTSN_WEB)
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libwebsockets-evlib-uv")
endif()

# --- Maintainer scripts and conffiles ----------------------------------------------------------------
# Everything the package installs under /etc/mqttsn-gw is a conffile (dpkg keeps the operator's edits on
# upgrade). The list is made from the staging tree at packaging time, so new files need no edit here.
set(MQTTSN_DEB_CONTROL_DIR ${CMAKE_BINARY_DIR}/cpack-deb)
file(MAKE_DIRECTORY ${MQTTSN_DEB_CONTROL_DIR})
file(WRITE ${MQTTSN_DEB_CONTROL_DIR}/conffiles "")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${MQTTSN_DEB_CONTROL_DIR}/conffiles
    ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm
    ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE) # 0755 scripts, 0644 data, as lintian wants
set(CPACK_MQTTSN_DEB_CONFFILES ${MQTTSN_DEB_CONTROL_DIR}/conffiles)
set(CPACK_MQTTSN_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX}) # the pre-build script refuses anything but /usr
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles.cmake)

# dpkg-shlibdeps needs no DEB_HOST_ARCH for a cross package: it picks each library in the multiarch
# directories by the ELF machine of the binary that needs it (checked on bookworm's dpkg 1.21 with arm64).
include(CPack)
