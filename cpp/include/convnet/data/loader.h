// Batches gathered by index from in-memory arrays, images run through a Pipeline, made on background
// threads (the workers of torch.utils.data.DataLoader, as threads of this process) and delivered in
// order.
//
// Legend: N samples in the data set, B samples in a batch; a column is one field of the samples
// (images, labels), an array (N, ...) whose rows are the samples' values.
//
// Randomness: the sample at position k of the epoch (counting over the batches in order) is
// transformed with image_seed(base, k), whichever thread makes its batch, so batches are
// bit-identical for any number of workers.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "convnet/data/transforms.h"
#include "convnet/tensor.h"

namespace convnet::data {

// One field of the samples: rows of `data` (N, ...) gathered by index into (B, ...). With a
// pipeline, the rows are images (uint8 (N, H, W[, C]) or float32 (N, C, H, W)) that the pipeline
// transforms and collates (Pipeline::batch).
struct Column {
  Tensor data;
  std::shared_ptr<const Pipeline> pipeline;
};

// Rows idx[0..B) of data (N, ...) -> (B, ...). Throws convnet::IndexError naming an index outside [0, N).
Tensor gather_rows(const Tensor& data, const int64_t* idx, int64_t b);

// One epoch of batches. batches[b] holds the data set indices of batch b. With num_workers == 0,
// next() makes each batch when asked, its images split over the OpenMP threads; otherwise
// num_workers threads make batches ahead, at most `prefetch` (>= 1) made or in the making beyond
// the last one delivered, each batch on one thread. With pin_memory, batches are copied into
// page-locked memory where they are made (for asynchronous copies to a GPU; needs CUDA).
class BatchIterator {
 public:
  BatchIterator(std::vector<Column> columns, std::vector<std::vector<int64_t>> batches, uint64_t base,
                int64_t num_workers, int64_t prefetch, bool pin_memory = false);
  ~BatchIterator();
  BatchIterator(const BatchIterator&) = delete;
  BatchIterator& operator=(const BatchIterator&) = delete;

  // The next batch (one tensor per column) into `out`; false after the last. An error in making a
  // batch is rethrown here, its message naming the data set index.
  bool next(std::vector<Tensor>& out);
  // Stops the workers (each finishes the batch it is making) and drops the prefetched batches.
  // Called by the destructor; next() then returns false.
  void close();
  int64_t size() const { return static_cast<int64_t>(batches_.size()); }

 private:
  struct Slot {
    bool ready = false;
    std::vector<Tensor> out;
    std::exception_ptr error;
  };
  std::vector<Tensor> make(int64_t b, bool parallel) const;
  void work();

  std::vector<Column> columns_;
  std::vector<std::vector<int64_t>> batches_;
  std::vector<int64_t> first_;  // epoch position of each batch's first sample
  uint64_t base_;
  int64_t prefetch_;
  bool pin_memory_;

  std::mutex mu_;
  std::condition_variable can_issue_, done_;
  std::vector<Slot> slots_;  // one per batch; emptied when delivered
  int64_t issued_ = 0;       // batches handed to a worker
  int64_t delivered_ = 0;    // batches returned by next()
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace convnet::data
