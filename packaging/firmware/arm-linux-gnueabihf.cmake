# arm-linux-gnueabihf.cmake — CMake toolchain file: 32-bit ARM hard-float
# (Debian armhf) with gcc-arm-linux-gnueabihf; tests run under qemu-arm
# with the cross C library (libc6-armhf-cross) as its prefix and the target
# libraries of CK_CROSS_LIBDIR on the guest's LD_LIBRARY_PATH.
# cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=packaging/firmware/arm-linux-gnueabihf.cmake
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CK_CROSS_TRIPLET arm-linux-gnueabihf)
if(CK_CROSS_LIBDIR)
  set(CK_CROSS_QEMU qemu-arm -L /usr/arm-linux-gnueabihf -E LD_LIBRARY_PATH=${CK_CROSS_LIBDIR})
else()
  set(CK_CROSS_QEMU qemu-arm -L /usr/arm-linux-gnueabihf)
endif()
# 64-bit file offsets and inode numbers: without them stat and readdir fail
# with EOVERFLOW on large file systems (and under qemu-arm on a 64-bit host).
# time_t stays 32-bit: Debian 12's armhf libraries are built that way.
string(APPEND CMAKE_C_FLAGS_INIT " -D_FILE_OFFSET_BITS=64")
include(${CMAKE_CURRENT_LIST_DIR}/cross-common.cmake)
