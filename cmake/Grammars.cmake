# Fetch, verify, unpack and build the tree-sitter runtime and grammars listed
# in grammars/manifest.  Tarballs come from `npm pack NAME@VERSION` and are
# kept in a cache directory so that rebuilds work offline:
#   $GIT_MONITOR_CACHE, else $XDG_CACHE_HOME/git-monitor, else ~/.cache/git-monitor
# Nothing fetched here is ever committed; it lives in the build tree.

if(DEFINED ENV{GIT_MONITOR_CACHE} AND NOT "$ENV{GIT_MONITOR_CACHE}" STREQUAL "")
  set(GM_CACHE_DIR "$ENV{GIT_MONITOR_CACHE}")
elseif(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(GM_CACHE_DIR "$ENV{XDG_CACHE_HOME}/git-monitor")
else()
  set(GM_CACHE_DIR "$ENV{HOME}/.cache/git-monitor")
endif()
set(GM_CACHE_DIR "${GM_CACHE_DIR}/npm")
file(MAKE_DIRECTORY "${GM_CACHE_DIR}")
set(GM_DEPS_DIR "${CMAKE_BINARY_DIR}/_deps")

find_program(GM_NPM npm)

file(STRINGS "${CMAKE_SOURCE_DIR}/grammars/manifest" _gm_manifest_lines)
set(GM_GRAMMAR_LANGS "")
set(GM_MANIFEST_TEXT "")

foreach(_line IN LISTS _gm_manifest_lines)
  string(STRIP "${_line}" _line)
  if(_line STREQUAL "" OR _line MATCHES "^#")
    continue()
  endif()
  string(APPEND GM_MANIFEST_TEXT "${_line}\n")
  string(REGEX REPLACE "[ \t]+" ";" _f "${_line}")
  list(GET _f 0 _pkg)
  list(GET _f 1 _ver)
  list(GET _f 2 _sha)
  list(SUBLIST _f 3 -1 _langs)

  set(_tgz "${GM_CACHE_DIR}/${_pkg}-${_ver}.tgz")
  set(_ok FALSE)
  if(EXISTS "${_tgz}")
    file(SHA512 "${_tgz}" _have)
    if(_have STREQUAL _sha)
      set(_ok TRUE)
    else()
      message(STATUS "git-monitor: cached ${_pkg}-${_ver}.tgz does not match its pinned hash; fetching again")
      file(REMOVE "${_tgz}")
    endif()
  endif()
  if(NOT _ok)
    if(NOT GM_NPM)
      message(FATAL_ERROR
        "git-monitor: npm is needed to fetch ${_pkg}@${_ver} (the tree-sitter "
        "grammars are fetched at build time). Install it (Debian/Ubuntu: "
        "'apt-get install npm', Fedora: 'dnf install nodejs-npm', macOS: "
        "'brew install node') or put ${_pkg}-${_ver}.tgz into ${GM_CACHE_DIR}.")
    endif()
    message(STATUS "git-monitor: npm pack ${_pkg}@${_ver}")
    execute_process(
      COMMAND "${GM_NPM}" pack "${_pkg}@${_ver}" --silent
              --pack-destination "${GM_CACHE_DIR}"
      WORKING_DIRECTORY "${GM_CACHE_DIR}"
      RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0 OR NOT EXISTS "${_tgz}")
      message(FATAL_ERROR "git-monitor: 'npm pack ${_pkg}@${_ver}' failed: ${_err}")
    endif()
    file(SHA512 "${_tgz}" _have)
    if(NOT _have STREQUAL _sha)
      file(REMOVE "${_tgz}")
      message(FATAL_ERROR "git-monitor: ${_pkg}-${_ver}.tgz does not match the "
        "SHA-512 pinned in grammars/manifest (got ${_have}); refusing to build with it")
    endif()
  endif()

  set(_dir "${GM_DEPS_DIR}/${_pkg}-${_ver}")
  if(NOT EXISTS "${_dir}/.unpacked-${_sha}")
    file(REMOVE_RECURSE "${_dir}")
    file(ARCHIVE_EXTRACT INPUT "${_tgz}" DESTINATION "${_dir}")
    file(TOUCH "${_dir}/.unpacked-${_sha}")
  endif()

  # For cmake/Highlights.cmake: where each package and language was unpacked.
  set(GM_PKG_DIR_${_pkg} "${_dir}/package")
  foreach(_ls IN LISTS _langs)
    string(REPLACE ":" ";" _ls "${_ls}")
    list(GET _ls 0 _lang)
    list(GET _ls 1 _sub)
    set(_root "${_dir}/package/${_sub}")
    set(GM_LANG_PKG_DIR_${_lang} "${_dir}/package")
    if(_lang STREQUAL "runtime")
      set(GM_TS_RUNTIME_DIR "${_root}")
      add_library(ts_runtime STATIC "${_root}/src/lib.c")
      target_include_directories(ts_runtime PRIVATE "${_root}/src" "${_root}/include")
      target_include_directories(ts_runtime SYSTEM PUBLIC "${_root}/include")
      target_compile_options(ts_runtime PRIVATE -w)
      set_target_properties(ts_runtime PROPERTIES C_STANDARD 11
        POSITION_INDEPENDENT_CODE ON)
      target_compile_definitions(ts_runtime PRIVATE _POSIX_C_SOURCE=200112L _DEFAULT_SOURCE)
    else()
      set(_srcs "${_root}/src/parser.c")
      if(EXISTS "${_root}/src/scanner.c")
        list(APPEND _srcs "${_root}/src/scanner.c")
      endif()
      add_library(ts_${_lang} STATIC ${_srcs})
      target_include_directories(ts_${_lang} PRIVATE "${_root}/src")
      target_compile_options(ts_${_lang} PRIVATE -w)
      set_target_properties(ts_${_lang} PROPERTIES C_STANDARD 11
        POSITION_INDEPENDENT_CODE ON)
      list(APPEND GM_GRAMMAR_LANGS "${_lang}")
    endif()
  endforeach()
endforeach()

if(NOT TARGET ts_runtime)
  message(FATAL_ERROR "git-monitor: grammars/manifest names no tree-sitter runtime")
endif()
