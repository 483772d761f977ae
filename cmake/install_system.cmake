# Installs what depends on the prefix given at install time (`cmake --install --prefix P`,
# DESTDIR=..., CPack), not at configure time: the systemd unit, whose ExecStart names the
# installed binary and configuration, and the default configuration file, which lives in
# ROOT/etc for the prefix ROOT/usr (else in P/etc), as GNUInstallDirs places sysconfdir.
# An existing configuration file is never overwritten (it holds the operator's edits).
# Set before this runs: DBOT_SOURCE_DIR, DBOT_BINARY_DIR.
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(prefix MATCHES "^(.*)/usr/?$")
    set(etc "${CMAKE_MATCH_1}/etc")
else()
    set(etc "${prefix}/etc")
endif()
set(DBOT_BIN "${prefix}/bin/dealerbot")
set(DBOT_CONF "${etc}/dealerbot/dealerbot.conf")

# One staging folder per destination: installs into different places may run at once.
string(MD5 where "$ENV{DESTDIR}|${prefix}")
set(unit "${DBOT_BINARY_DIR}/dist/${where}/dealerbot.service")
configure_file("${DBOT_SOURCE_DIR}/dist/dealerbot.service.in" "${unit}" @ONLY)
file(INSTALL DESTINATION "${prefix}/lib/systemd/system" TYPE FILE FILES "${unit}")

if(EXISTS "$ENV{DESTDIR}${DBOT_CONF}")
    message(STATUS "Kept: $ENV{DESTDIR}${DBOT_CONF} (exists)")
else()
    file(INSTALL DESTINATION "${etc}/dealerbot" TYPE FILE
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
         FILES "${DBOT_SOURCE_DIR}/dist/dealerbot.conf")
endif()
