# Shared build settings for every target of ours.
add_library(kv_build_flags INTERFACE)
target_compile_options(kv_build_flags INTERFACE -Wall -Wextra -Wpedantic)
# An enum written into a JSON value must go through its text (to_text), never silently as a number.
target_compile_definitions(kv_build_flags INTERFACE JSON_DISABLE_ENUM_SERIALIZATION=1)
if(KV_WERROR)
  target_compile_options(kv_build_flags INTERFACE -Werror)
  # GCC 12 at -O3 reports bogus -Wrestrict (inside libstdc++'s std::string, GCC bug 105329) and
  # -Wstringop-overflow/-Warray-bounds false positives; silence the first, keep the others as
  # warnings, so Release builds of correct code neither fail nor bury real warnings.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(kv_build_flags INTERFACE -Wno-restrict -Wno-error=stringop-overflow
                                                    -Wno-error=array-bounds)
  endif()
endif()
if(KV_SANITIZE)
  string(REPLACE "," ";" _kv_san_list "${KV_SANITIZE}")
  foreach(_s IN LISTS _kv_san_list)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "KV_SANITIZE: unknown sanitizer '${_s}' (use address,undefined or thread)")
    endif()
  endforeach()
  target_compile_options(kv_build_flags INTERFACE -fsanitize=${KV_SANITIZE} -fno-omit-frame-pointer
                                                  -fno-sanitize-recover=all)
  # GCC 12 with sanitizers and optimisation reports maybe-uninitialized inside libstdc++'s <regex>
  # (std::function in _State); a false positive that would stop the -Werror sanitizer build.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(kv_build_flags INTERFACE -Wno-maybe-uninitialized)
  endif()
  target_link_options(kv_build_flags INTERFACE -fsanitize=${KV_SANITIZE})
  # Processes launched by mpirun skip LeakSanitizer's exit check (Open MPI's own leaks; see the file).
  if("address" IN_LIST _kv_san_list)
    target_sources(kv_build_flags INTERFACE ${PROJECT_SOURCE_DIR}/cmake/lsan_options.cpp)
  endif()
endif()

# kv_add_module(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Creates static library kv_<name>; headers are included as "<folder>/<file>.hpp" from src/.
function(kv_add_module name)
  cmake_parse_arguments(A "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(kv_${name} STATIC ${A_SOURCES})
  target_include_directories(kv_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(kv_${name} PUBLIC kv_build_flags ${A_PUBLIC_DEPS} PRIVATE ${A_PRIVATE_DEPS})
endfunction()

# kv_add_test(<name> SOURCES ... DEPS ...): one GoogleTest executable per module, discovered by ctest.
function(kv_add_test name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(test_${name} ${A_SOURCES})
  set_target_properties(test_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  # Shared test helpers: #include "support/<file>.hpp" (tests/support/).
  target_include_directories(test_${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(test_${name} PRIVATE kv_build_flags ${A_DEPS} GTest::gtest_main GTest::gmock)
  target_compile_definitions(test_${name} PRIVATE
      KV_TEST_DATA_DIR="${PROJECT_SOURCE_DIR}/tests/data"
      KV_BIN_DIR="${CMAKE_BINARY_DIR}/bin")
  gtest_discover_tests(test_${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS ${name})
endfunction()
