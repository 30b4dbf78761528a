# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS, see cmake/Packaging.cmake): lists every file staged
# under etc/ as a conffile, so dpkg keeps the operator's edits of /etc/mqttsn-gw/* across upgrades.

# The unit's ExecStart and the config path are fixed at configure time from CMAKE_INSTALL_PREFIX: a tree
# configured for /usr/local would give a package whose unit starts /usr/local/bin/mqttsn-gw, which the
# package does not contain. Refuse instead of building it.
if(NOT CPACK_MQTTSN_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "mqttsn-gw: this tree is configured with CMAKE_INSTALL_PREFIX="
                      "${CPACK_MQTTSN_INSTALL_PREFIX}; a .deb needs -DCMAKE_INSTALL_PREFIX=/usr "
                      "(reconfigure, or use scripts/cross-build.sh native)")
endif()
file(GLOB_RECURSE staged_config LIST_DIRECTORIES false RELATIVE "${CPACK_TEMPORARY_DIRECTORY}"
     "${CPACK_TEMPORARY_DIRECTORY}/etc/*")
list(SORT staged_config)
set(lines "")
foreach(f IN LISTS staged_config)
  string(APPEND lines "/${f}\n")
endforeach()
file(WRITE "${CPACK_MQTTSN_DEB_CONFFILES}" "${lines}")
list(LENGTH staged_config n)
message(STATUS "mqttsn-gw: ${n} conffile(s) under /etc")
