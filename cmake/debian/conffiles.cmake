# CPack pre-build script (CPACK_PRE_BUILD_SCRIPTS, see cmake/Packaging.cmake): lists every file staged
# under etc/ as a conffile, so dpkg keeps the operator's edits of /etc/mqttsn-gw/* across upgrades.
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
