# cross-common.cmake — shared by the toolchain files of this directory
# (aarch64-linux-gnu.cmake, arm-linux-gnueabihf.cmake); they set
# CK_CROSS_TRIPLET and CK_CROSS_QEMU first. Debian's cross compilers search
# the multiarch directories (/usr/include/TRIPLET, /usr/lib/TRIPLET) by
# themselves, so the target's libraries come from multiarch -dev packages
# (dpkg --add-architecture; packaging/install-deps.sh). Cache options:
#   CK_CROSS_STATIC=ON    link every program statically (-static, .a only)
#   CK_CROSS_LIBDIR=DIR   an extra directory of target libraries searched
#                         first (build-agent.sh fills it: libuv.a, the
#                         http-parser library of a -dev package that is not
#                         co-installable, or a whole extracted sysroot)
#   CK_CROSS_PKGCONFIG=DIR  an extra pkg-config directory (extracted .pc)
#   CK_CROSS_PCSYSROOT=DIR  the root those .pc files were extracted into
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${CK_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${CK_CROSS_TRIPLET})
set(CMAKE_STRIP ${CK_CROSS_TRIPLET}-strip)

# pkg-config: the target's .pc files only (never the build machine's)
set(_ck_pc /usr/lib/${CK_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
if(CK_CROSS_PKGCONFIG)
  set(_ck_pc ${CK_CROSS_PKGCONFIG}:${_ck_pc})
endif()
set(ENV{PKG_CONFIG_LIBDIR} ${_ck_pc})
set(ENV{PKG_CONFIG_PATH} "")
if(CK_CROSS_PCSYSROOT)
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${CK_CROSS_PCSYSROOT})
endif()

if(CK_CROSS_LIBDIR)
  list(PREPEND CMAKE_LIBRARY_PATH ${CK_CROSS_LIBDIR})
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -L${CK_CROSS_LIBDIR}")
endif()
if(CK_CROSS_STATIC)
  # the firmware binary: unused functions and data of our own code dropped
  string(APPEND CMAKE_C_FLAGS_INIT " -ffunction-sections -fdata-sections")
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -static -Wl,--gc-sections")
  # after project(): the platform files set the suffixes after this file
  set(CMAKE_PROJECT_INCLUDE ${CMAKE_CURRENT_LIST_DIR}/cross-static.cmake)
endif()

# test programs run under qemu-user (ctest adds the emulator)
set(CMAKE_CROSSCOMPILING_EMULATOR ${CK_CROSS_QEMU})

# try_compile projects re-read this file: hand them the options too
set(CMAKE_TRY_COMPILE_PLATFORM_VARIABLES CK_CROSS_STATIC CK_CROSS_LIBDIR CK_CROSS_PKGCONFIG
    CK_CROSS_PCSYSROOT)
