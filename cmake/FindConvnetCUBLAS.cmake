# FindConvnetCUBLAS: the CUDA runtime and cuBLAS for convnet's CUDA backend. cuBLAS comes from the
# CUDA toolkit, or from the nvidia-cublas wheel (site-packages/nvidia/cu13) of the Python found
# here, whose folders are searched as hints. That Python runs with -E: under pip's build isolation,
# PYTHONPATH points at a sitecustomize that hides the target environment's site-packages (where
# `pip install nvidia-cublas` put the wheel) from the build.
#
# Sets CONVNET_CUBLAS_INCLUDE_DIR (cublas_v2.h), CONVNET_CUBLAS_LIBRARY (libcublas),
# CONVNET_CUBLAS_WHEEL_LIBDIR (the wheel's lib folder, where libcublas comes from the wheel), the
# CUDAToolkit package's targets (CUDA::cudart_static) and ConvnetCUBLAS_FOUND.

find_package(CUDAToolkit QUIET)
set(_nv_hints "")
find_package(Python COMPONENTS Interpreter QUIET)
if(Python_Interpreter_FOUND)
  execute_process(
    COMMAND "${Python_EXECUTABLE}" -E -c "import nvidia, os; print(';'.join(os.path.join(p, 'cu13') for p in nvidia.__path__))"
    OUTPUT_VARIABLE _nv_hints OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
find_path(CONVNET_CUBLAS_INCLUDE_DIR cublas_v2.h HINTS ${CUDAToolkit_INCLUDE_DIRS} ${_nv_hints} PATH_SUFFIXES include)
find_library(CONVNET_CUBLAS_LIBRARY NAMES cublas libcublas.so.13
  HINTS ${CUDAToolkit_LIBRARY_DIR} ${_nv_hints} PATH_SUFFIXES lib lib64)

set(CONVNET_CUBLAS_WHEEL_LIBDIR "")
if(CONVNET_CUBLAS_LIBRARY MATCHES "/nvidia/cu13/lib/")
  get_filename_component(CONVNET_CUBLAS_WHEEL_LIBDIR "${CONVNET_CUBLAS_LIBRARY}" DIRECTORY)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ConvnetCUBLAS
  REQUIRED_VARS CONVNET_CUBLAS_LIBRARY CONVNET_CUBLAS_INCLUDE_DIR CUDAToolkit_FOUND)
