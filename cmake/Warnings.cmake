# Warnings for our own targets only (third-party headers come in as SYSTEM includes).
function(mqttsn_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion -Wnon-virtual-dtor)
  if(MQTTSN_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
