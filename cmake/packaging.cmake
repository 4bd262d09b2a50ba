# The man page tether(1) and the bash completion script, generated at build time by the
# binary itself (`tether --generate-man`, `tether --generate-bash-completion`) from the same
# CLI11 definitions that print --help, so they cannot drift from it; installed with the
# binary (component cli). Then the Debian package: `cpack -G DEB` in a build tree makes
# tether_<version>_<arch>.deb with both components under /usr.

set(TETHER_DOC_DIR ${PROJECT_BINARY_DIR}/doc)
file(MAKE_DIRECTORY ${TETHER_DOC_DIR})
add_custom_command(
  OUTPUT ${TETHER_DOC_DIR}/tether.1.gz
  # gzip -n: no file name or time stamp inside, so the output depends on the input only.
  COMMAND sh -c "'$<TARGET_FILE:tether_cli>' --generate-man > tether.1 && gzip -9nf tether.1"
  DEPENDS tether_cli
  WORKING_DIRECTORY ${TETHER_DOC_DIR}
  COMMENT "Generating tether.1.gz"
  VERBATIM)
add_custom_command(
  OUTPUT ${TETHER_DOC_DIR}/tether.bash-completion
  COMMAND sh -c "'$<TARGET_FILE:tether_cli>' --generate-bash-completion > tether.bash-completion"
  DEPENDS tether_cli
  WORKING_DIRECTORY ${TETHER_DOC_DIR}
  COMMENT "Generating the bash completion"
  VERBATIM)
add_custom_target(tether_docs ALL
                  DEPENDS ${TETHER_DOC_DIR}/tether.1.gz ${TETHER_DOC_DIR}/tether.bash-completion)
install(FILES ${TETHER_DOC_DIR}/tether.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT cli)
# bash-completion loads completions/<command> on first use, from /usr/share and, for a
# /usr/local install, /usr/local/share (XDG_DATA_DIRS).
install(FILES ${TETHER_DOC_DIR}/tether.bash-completion
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME tether
        COMPONENT cli)

# One package, "tether", with every component: the tool and the library (static, so its
# users also need libfmt-dev, libssl-dev and liburing-dev: tetherConfig.cmake and tether.pc
# ask for fmt, OpenSSL and liburing). The tool's shared-library dependencies come from dpkg-shlibdeps.
set(TETHER_PACKAGE_MAINTAINER "Tether maintainers <root@localhost>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tether)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "HTTP/1.1 keep-alive server, TCP keepalive and heartbeat tools, and their C++ library")
set(CPACK_PACKAGE_DESCRIPTION
    "tether serve, bench, inspect, heartbeat and explain, the man page tether(1), bash \
completion, and the static C++20 library (headers, CMake package tether, pkg-config tether).")
set(CPACK_PACKAGE_CONTACT "${TETHER_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libfmt-dev, libssl-dev, liburing-dev")
# Files only under /usr, owned by root.
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
include(CPack)
