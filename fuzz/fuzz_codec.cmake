mqttsn_add_fuzzer(fuzz_codec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_codec.cpp LIBS mqttsn_core)
# libFuzzer needs coverage instrumentation, and ASan/UBSan need their checks, in the code under test,
# not only in the harness that mqttsn_add_fuzzer instruments. This build tree exists only for fuzzing.
target_compile_options(mqttsn_core PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
