# CPack: a Debian package with both executables, the desktop entry, the icon and the AppStream
# metainfo, all under one reverse-DNS id (HTAP_APP_ID). Built by `installer/setup.sh package`.
set(CPACK_PACKAGE_NAME "htap-studio")
set(CPACK_PACKAGE_VENDOR "The HTAP Studio developers")
set(CPACK_PACKAGE_CONTACT "HTAP Studio developers <dev@htapstudio.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "database")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${PROJECT_HOMEPAGE_URL}")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The sandbox needs server binaries and pg_stat_statements; a remote server needs neither.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "postgresql (>= 15), postgresql-contrib, libsecret-1-0")
# Server-side extensions the app uses where they are there: schedules on the server, CPU priority.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql-15-cron, postgresql-15-prioritize, postgresql-15-hypopg, postgresql-15-partman")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libqt6sql6-sqlite, libqt6svg6")
include(CPack)
