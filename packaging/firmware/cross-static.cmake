# cross-static.cmake — included after project() when CK_CROSS_STATIC=ON
# (cross-common.cmake): every library is looked up as an archive, so
# pkg-config and find_library results link into one static program.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)
