# Script-driven tests, included by tests/CMakeLists.txt. Each runs a bash
# script from tests/ and fails when the script exits non-zero.

# ---- install test -----------------------------------------------------------
# Installs this build into a temporary prefix and builds + runs a separate
# CMake project (tests/fixtures/consumer) against it via find_package(stube).
# It runs the installed stube-demo and stube-store (built with the tools), and
# builds the consumer with the ASan flags of an ASan tree (none for TSan).
if(STUBE_BUILD_TOOLS AND NOT STUBE_TSAN)
  add_test(NAME install_consumer
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_consumer.sh
            ${PROJECT_BINARY_DIR} ${CMAKE_CXX_COMPILER} $<IF:$<BOOL:${STUBE_SANITIZE}>,ON,OFF>)
  set_tests_properties(install_consumer PROPERTIES TIMEOUT 300 LABELS "script;install")
endif()

# Configures tests/fixtures/subdirectory, a project that adds stube with
# add_subdirectory: stube must not force its build type or its tests on it.
add_test(NAME subdirectory_consumer
  COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/subdirectory
          -B ${CMAKE_CURRENT_BINARY_DIR}/subdirectory_consumer --fresh -G Ninja
          -DSTUBE_SOURCE=${PROJECT_SOURCE_DIR})
set_tests_properties(subdirectory_consumer PROPERTIES TIMEOUT 120 LABELS "script;install")

# ---- a compile-time rule ---------------------------------------------------------
# A stube::Flow co_awaits stube::await(child) and nothing else (docs/flows.md):
# the fixture breaks the rule and must fail with the library's own message.
add_test(NAME flow_foreign_await_does_not_compile
  COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/include
          ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/compile_fail/flow_foreign_await.cpp)
set_tests_properties(flow_foreign_await_does_not_compile PROPERTIES TIMEOUT 120 LABELS "script;kernel"
  PASS_REGULAR_EXPRESSION "a stube::Flow can only co_await stube::await\\(child\\)")
# A state field of a character type is refused with the library's message.
add_test(NAME state_char_field_does_not_compile
  COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/include
          ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/compile_fail/state_char_field.cpp)
set_tests_properties(state_char_field_does_not_compile PROPERTIES TIMEOUT 120 LABELS "script;kernel"
  PASS_REGULAR_EXPRESSION "a character type \\(char, wchar_t, char8_t, char16_t, char32_t\\) is not a state")
# A state field of a type with no EDN form (an enum) is refused with the
# library's message, which says what a field may be.
add_test(NAME state_enum_field_does_not_compile
  COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -I${PROJECT_SOURCE_DIR}/include
          ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/compile_fail/state_enum_field.cpp)
set_tests_properties(state_enum_field_does_not_compile PROPERTIES TIMEOUT 120 LABELS "script;kernel"
  PASS_REGULAR_EXPRESSION "not a state field type. A field is a bool, an integer")
# The mistakes the EDN and HTML headers catch (fixture value_misuse.cpp): a
# view into a temporary value, an update whose result is ignored, a
# character given to an HTML builder as if it were a number.
foreach(case IN ITEMS
    "view_of_temporary|use of deleted function[^\n]*Value::items\\(\\) const &&"
    "ignored_update|ignoring return value of[^\n]*Value::assoc"
    "html_character_child|use of deleted function[^\n]*Value::Value\\(char8_t\\)")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 name)
  list(GET parts 1 expected)
  add_test(NAME value_misuse_${name}
    COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -Wall -Wextra
            -I${PROJECT_SOURCE_DIR}/include
            ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/compile_fail/value_misuse.cpp)
  set_tests_properties(value_misuse_${name} PROPERTIES TIMEOUT 120 LABELS "script;edn"
    PASS_REGULAR_EXPRESSION "${expected}")
endforeach()

# ---- Clojure interop tests ----------------------------------------------------
# (registered below by the Clojure interop work)
# stube-edn against the real Clojure reader/printer (one JVM launch), and the
# stube-edn command line itself.
if(STUBE_BUILD_TOOLS)
  add_test(NAME clojure_edn_interop
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/clojure/run_interop.sh $<TARGET_FILE:stube-edn>)
  set_tests_properties(clojure_edn_interop PROPERTIES TIMEOUT 300 LABELS "script;clojure")
  add_test(NAME stube_edn_cli
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/clojure/stube_edn_cli.sh $<TARGET_FILE:stube-edn>)
  set_tests_properties(stube_edn_cli PROPERTIES TIMEOUT 60 LABELS "script;tools")
endif()

# ---- Store interop ------------------------------------------------------------
# Clojure writes conversations the original file store's way, our file_store
# loads and re-saves them (store_copy), Clojure reads them back: all equal.
add_executable(store_copy ${CMAKE_CURRENT_SOURCE_DIR}/store/interop/store_copy.cpp)
target_link_libraries(store_copy PRIVATE stube::stube stube_warnings)
add_test(NAME clojure_store_interop
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/clojure/run_store_interop.sh $<TARGET_FILE:store_copy>)
set_tests_properties(clojure_store_interop PROPERTIES TIMEOUT 300 LABELS "script;clojure;store")

# Browser tests
# Real-browser tests (tests/browser/*.test.mjs): each starts stube-demo on a
# free port and drives Debian's Chromium (/usr/bin/chromium) with
# playwright-core from node_modules (scripts/setup.sh runs `npm ci`).
# Screenshots go to <build>/browser-artifacts/ (kept by CI, not committed).
if(STUBE_BUILD_TOOLS)
  file(GLOB STUBE_BROWSER_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/browser/*.test.mjs)
  foreach(script ${STUBE_BROWSER_TESTS})
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME browser_${name} COMMAND node --test ${script})
    set_tests_properties(browser_${name} PROPERTIES
      TIMEOUT 300 LABELS "browser"
      # One browser at a time: two Chromiums on 2 cores make timing-sensitive
      # steps flaky and the suite no faster.
      RESOURCE_LOCK chromium
      ENVIRONMENT "STUBE_DEMO=$<TARGET_FILE:stube-demo>;STUBE_ARTIFACTS=${PROJECT_BINARY_DIR}/browser-artifacts")
  endforeach()
  # The typing test once more with every event's answer held back 400 ms
  # behind its view on the stream: a step that types before the answer to the
  # last event arrived would be overwritten by it (seen once under ASan).
  add_test(NAME browser_wizard_todo_slow_answers
    COMMAND node --test ${CMAKE_CURRENT_SOURCE_DIR}/browser/wizard_todo.test.mjs)
  set_tests_properties(browser_wizard_todo_slow_answers PROPERTIES
    TIMEOUT 300 LABELS "browser" RESOURCE_LOCK chromium
    ENVIRONMENT "STUBE_DEMO=$<TARGET_FILE:stube-demo>;STUBE_ARTIFACTS=${PROJECT_BINARY_DIR}/browser-artifacts/slow-answers;STUBE_ANSWER_DELAY_MS=400")
endif()

# ---- PostgreSQL tests -----------------------------------------------------------
# The PostgreSQL store against a real server: tests/postgres/with_postgres.sh
# runs initdb + pg_ctl into a temporary directory on a free port (as the
# unprivileged user stube-pg when run as root, as in CI), exports
# STUBE_PG_CONNINFO / STUBE_PG_URL / STUBE_PG_CONTROL to the command, and
# stops and deletes the server afterwards, also on failure.
#
# The gtest sources are in tests/postgres/gtest/, not tests/postgres/*.cpp,
# so the per-area loop in tests/CMakeLists.txt does not register them
# without the server; run alone, the binary FAILS (never skips).
find_package(PostgreSQL REQUIRED)
file(GLOB STUBE_PG_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/postgres/gtest/*.cpp)
# pg_store_tool_test.cpp runs stube-store against the server.
if(NOT STUBE_BUILD_TOOLS)
  list(FILTER STUBE_PG_TEST_SOURCES EXCLUDE REGEX "pg_store_tool_test\\.cpp$")
endif()
add_executable(stube_pg_tests ${STUBE_PG_TEST_SOURCES}
  # The store conformance suite and its support, instantiated for PostgreSQL.
  ${CMAKE_CURRENT_SOURCE_DIR}/store/conformance_test.cpp ${CMAKE_CURRENT_SOURCE_DIR}/store/support.cpp)
target_link_libraries(stube_pg_tests PRIVATE
  stube::stube stube_warnings GTest::gtest GTest::gtest_main PostgreSQL::PostgreSQL)
target_include_directories(stube_pg_tests PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
target_compile_definitions(stube_pg_tests PRIVATE
  STUBE_SOURCE_DIR="${PROJECT_SOURCE_DIR}" STUBE_BINARY_DIR="${PROJECT_BINARY_DIR}")
if(STUBE_BUILD_TOOLS)
  target_sources(stube_pg_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/tools/run_tool.cpp)
  target_compile_definitions(stube_pg_tests PRIVATE STUBE_STORE_TOOL="$<TARGET_FILE:stube-store>")
  add_dependencies(stube_pg_tests stube-store)
endif()
# File/*: the file store's instances, already run by stube_store_tests.
set(STUBE_PG_FILTER "-File/*")
add_test(NAME postgres_store
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/postgres/with_postgres.sh
          $<TARGET_FILE:stube_pg_tests> --gtest_filter=${STUBE_PG_FILTER})
set_tests_properties(postgres_store PROPERTIES TIMEOUT 600 LABELS "script;postgres;store")

# Failover: two stube-demo processes on one database; SIGKILL one halfway
# through /wizard, finish on the other (tests/postgres/failover.test.mjs).
if(STUBE_BUILD_TOOLS)
  add_test(NAME postgres_failover
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/postgres/with_postgres.sh
            node --test ${CMAKE_CURRENT_SOURCE_DIR}/postgres/failover.test.mjs)
  set_tests_properties(postgres_failover PROPERTIES
    TIMEOUT 300 LABELS "script;postgres;server"
    ENVIRONMENT "STUBE_DEMO=$<TARGET_FILE:stube-demo>")
endif()
