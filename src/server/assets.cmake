# Embeds the server's browser assets into the library at build time: the
# Datastar client (from node_modules, installed by `npm ci` in
# scripts/setup.sh, version pinned in package-lock.json), the stock
# stylesheet and stube's page script (src/server/assets/). Included from
# the top-level CMakeLists.txt after the `stube` target exists. The
# generated .cpp lives in the build tree only.
set(STUBE_DATASTAR_JS
  ${PROJECT_SOURCE_DIR}/node_modules/@starfederation/datastar/dist/datastar.js)
if(NOT EXISTS ${STUBE_DATASTAR_JS})
  message(FATAL_ERROR
    "The Datastar client is missing: ${STUBE_DATASTAR_JS}\n"
    "Run `bash scripts/setup.sh` (or `npm ci` in ${PROJECT_SOURCE_DIR}) first: it installs "
    "@starfederation/datastar as pinned in package-lock.json.")
endif()

set(STUBE_ASSETS_CPP ${PROJECT_BINARY_DIR}/generated/stube_embedded_assets.cpp)
set(STUBE_ASSET_FILES
  ${STUBE_DATASTAR_JS}
  ${PROJECT_SOURCE_DIR}/src/server/assets/stube.css
  ${PROJECT_SOURCE_DIR}/src/server/assets/stube.js)
add_custom_command(
  OUTPUT ${STUBE_ASSETS_CPP}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${STUBE_ASSETS_CPP}
          "-DINPUTS=${STUBE_DATASTAR_JS}|datastar_js|${PROJECT_SOURCE_DIR}/src/server/assets/stube.css|stube_css|${PROJECT_SOURCE_DIR}/src/server/assets/stube.js|stube_js"
          -P ${PROJECT_SOURCE_DIR}/src/server/embed_assets.cmake
  DEPENDS ${STUBE_ASSET_FILES} ${PROJECT_SOURCE_DIR}/src/server/embed_assets.cmake
  COMMENT "Embedding the Datastar client, the stock stylesheet and the page script"
  VERBATIM)
target_sources(stube PRIVATE ${STUBE_ASSETS_CPP})

# The server's header-only dependencies (Debian libboost-dev,
# nlohmann-json3-dev); build-only, so the installed package does not need them.
find_package(Boost 1.74 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
target_link_libraries(stube PRIVATE $<BUILD_INTERFACE:Boost::headers> $<BUILD_INTERFACE:nlohmann_json::nlohmann_json>)
