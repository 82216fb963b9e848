# aarch64-linux-gnu.cmake — CMake toolchain file: 64-bit ARM (Debian arm64)
# with gcc-aarch64-linux-gnu; tests run under qemu-aarch64, which finds the
# target's dynamic loader and libraries in the multiarch directories.
# cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=packaging/firmware/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CK_CROSS_TRIPLET aarch64-linux-gnu)
set(CK_CROSS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
