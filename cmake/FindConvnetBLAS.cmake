# FindConvnetBLAS: the CPU BLAS convnet links, chosen by CONVNET_BLAS.
#
#   scipy-openblas32  the OpenBLAS NumPy ships (symbols prefixed scipy_), from the Python package
#                     of that name unless OpenBLAS_DIR is given;
#   a FindBLAS vendor (OpenBLAS, Generic, ...) or ALL: a system BLAS with a CBLAS interface
#                     (cblas.h and cblas_sgemm; Debian/Ubuntu: apt-get install libopenblas-dev);
#   AUTO              scipy-openblas32 when CONVNET_PYTHON is ON or OpenBLAS_DIR is given, else ALL.
#
# Sets CONVNET_BLAS_KIND (the choice AUTO resolved to), CONVNET_BLAS_TARGET (the imported target
# to link), CONVNET_BLAS_DEFS (compile definitions: CONVNET_SCIPY_OPENBLAS,
# CONVNET_OPENBLAS_THREADS), CONVNET_CBLAS_INCLUDE_DIR (system BLAS only) and ConvnetBLAS_FOUND.
# A BLAS that cannot be used is a fatal error that says what to install.

set(CONVNET_BLAS_KIND ${CONVNET_BLAS})
if(CONVNET_BLAS STREQUAL "AUTO")
  if(CONVNET_PYTHON OR OpenBLAS_DIR)
    set(CONVNET_BLAS_KIND scipy-openblas32)
  else()
    set(CONVNET_BLAS_KIND ALL)
  endif()
endif()
set(CONVNET_BLAS_DEFS "")
if(CONVNET_BLAS_KIND STREQUAL "scipy-openblas32")
  if(NOT OpenBLAS_DIR)
    find_package(Python COMPONENTS Interpreter REQUIRED)
    execute_process(
      COMMAND "${Python_EXECUTABLE}" -c "import scipy_openblas32 as s; print(s.get_lib_dir())"
      OUTPUT_VARIABLE _ob_lib OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _ob_rc)
    if(NOT _ob_rc EQUAL 0)
      message(FATAL_ERROR "convnet: the scipy-openblas32 package is needed (pip install scipy-openblas32)")
    endif()
    set(OpenBLAS_DIR "${_ob_lib}/cmake/openblas" CACHE PATH "scipy-openblas32's CMake folder")
  endif()
  find_package(OpenBLAS REQUIRED CONFIG)
  set(CONVNET_BLAS_TARGET OpenBLAS::OpenBLAS)
  list(APPEND CONVNET_BLAS_DEFS CONVNET_SCIPY_OPENBLAS)
else()
  if(NOT CONVNET_BLAS_KIND STREQUAL "ALL")
    set(BLA_VENDOR ${CONVNET_BLAS_KIND})
  endif()
  find_package(BLAS)
  find_path(CONVNET_CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas)
  if(NOT BLAS_FOUND OR NOT CONVNET_CBLAS_INCLUDE_DIR)
    message(FATAL_ERROR "convnet: no system BLAS with cblas.h was found. Install one "
      "(Debian/Ubuntu: apt-get install libopenblas-dev), or build with -DCONVNET_BLAS=scipy-openblas32 "
      "(pip install scipy-openblas32, or pass -DOpenBLAS_DIR=<its lib/cmake/openblas folder>)")
  endif()
  include(CheckFunctionExists)
  set(CMAKE_REQUIRED_LIBRARIES ${BLAS_LIBRARIES})
  check_function_exists(cblas_sgemm CONVNET_HAVE_CBLAS_SGEMM)
  check_function_exists(openblas_set_num_threads CONVNET_HAVE_OPENBLAS_THREADS)
  unset(CMAKE_REQUIRED_LIBRARIES)
  if(NOT CONVNET_HAVE_CBLAS_SGEMM)
    message(FATAL_ERROR "convnet: the BLAS found (${BLAS_LIBRARIES}) has no CBLAS interface (cblas_sgemm)")
  endif()
  set(CONVNET_BLAS_TARGET BLAS::BLAS)
  if(CONVNET_HAVE_OPENBLAS_THREADS)
    list(APPEND CONVNET_BLAS_DEFS CONVNET_OPENBLAS_THREADS)
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ConvnetBLAS REQUIRED_VARS CONVNET_BLAS_TARGET CONVNET_BLAS_KIND)
