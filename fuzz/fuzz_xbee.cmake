# The decoder is compiled into the fuzzer itself (not linked from mqttsn_radio) so that libFuzzer's
# coverage instrumentation sees its branches; it depends on nothing else.
mqttsn_add_fuzzer(fuzz_xbee SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_xbee.cpp
                  ${CMAKE_SOURCE_DIR}/radio/xbee_frame.cpp)
target_include_directories(fuzz_xbee PRIVATE ${CMAKE_SOURCE_DIR})
