mqttsn_add_fuzzer(fuzz_codec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_codec.cpp LIBS mqttsn_core)
