// The CUDA runtime as users see it: devices, synchronization and the device
// allocator's statistics. Each device has one stream, on which every kernel and
// copy runs in order. In a build without CUDA, is_available() is false,
// device_count() is 0 and the rest throws "convnet was built without CUDA".
#pragma once
#include <string>

#include "convnet/allocator.h"

namespace convnet::cuda {

bool is_available();
int device_count();
int current_device();
void set_device(int index);
std::string get_device_name(int index);
// Waits for the device's queued work; index -1: the current device.
void synchronize(int index = -1);
// The caching device allocator of device `index`.
AllocatorStats memory_stats(int index);
void reset_peak_memory_stats(int index);
// Returns the cached blocks of every device to the driver.
void empty_cache();

}  // namespace convnet::cuda
