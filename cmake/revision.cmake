# Writes OUT (revision.h) with the source revision of SRC, for `dealerbot --version`; runs at
# every build and rewrites the file only when the revision changed (so nothing recompiles for
# nothing). From git when SRC is a work tree ("<12 hex>" or "<12 hex>-dirty"); else from
# dist/REVISION, which `git archive` fills in (export-subst in .gitattributes); else "unknown".
set(rev "")
find_program(GIT git)
if(GIT AND EXISTS "${SRC}/.git")
    execute_process(COMMAND ${GIT} -C "${SRC}" rev-parse --short=12 HEAD
                    OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE rc ERROR_QUIET)
    if(NOT rc EQUAL 0)
        set(rev "")
    else()
        execute_process(COMMAND ${GIT} -C "${SRC}" diff-index --quiet HEAD --
                        RESULT_VARIABLE dirty ERROR_QUIET)
        if(NOT dirty EQUAL 0)
            string(APPEND rev "-dirty")
        endif()
    endif()
endif()
if(rev STREQUAL "" AND EXISTS "${SRC}/dist/REVISION")
    file(STRINGS "${SRC}/dist/REVISION" line LIMIT_COUNT 1)
    if(line MATCHES "^[0-9a-f]+$")
        string(SUBSTRING "${line}" 0 12 rev)
    endif()
endif()
if(rev STREQUAL "")
    set(rev "unknown")
endif()
set(text "#define DBOT_REVISION \"${rev}\"\n")
if(EXISTS "${OUT}")
    file(READ "${OUT}" old)
else()
    set(old "")
endif()
if(NOT old STREQUAL text)
    file(WRITE "${OUT}" "${text}")
endif()
