// Batches for the DataLoader. Legend: N samples in the data set, B samples in a batch, H W C image
// height, width, channels.
#include "convnet/data/loader.h"

#include <cstring>
#include <stdexcept>

#include "convnet/check.h"

namespace convnet::data {

namespace {

// Row i of data (N, ...) as an image: uint8 (N, H, W[, C]) or float32 (N, C, H, W).
Image image_row(const Tensor& data, int64_t i) {
  const Shape& s = data.shape();
  Image im;
  im.is_float = data.dtype() == DType::Float32;
  if (im.is_float) {
    im.c = s.size() == 4 ? s[1] : 1;
    im.h = s[s.size() - 2];
    im.w = s[s.size() - 1];
  } else {
    im.h = s[1];
    im.w = s[2];
    im.c = s.size() == 4 ? s[3] : 1;
  }
  const size_t n = static_cast<size_t>(im.h * im.w * im.c);
  if (im.is_float) {
    const float* p = data.data<float>() + i * static_cast<int64_t>(n);
    im.f.assign(p, p + n);
  } else {
    const uint8_t* p = data.data<uint8_t>() + i * static_cast<int64_t>(n);
    im.u8.assign(p, p + n);
  }
  return im;
}

void check_index(int64_t i, int64_t n) {
  if (i < 0 || i >= n)
    throw IndexError(cat_str("DataLoader: data set index ", i, " is out of range for a data set of ", n,
                                    " samples"));
}

}  // namespace

// data (N, ...) -> (B, ...)
Tensor gather_rows(const Tensor& data_in, const int64_t* idx, int64_t b) {
  const Tensor data = data_in.contiguous();
  const int64_t n = data.size(0);
  Shape s = data.shape();
  s[0] = b;
  Tensor out = Tensor::empty(s, data.dtype());
  const size_t row = n ? data.nbytes() / static_cast<size_t>(n) : 0;
  const char* src = static_cast<const char*>(data.raw_data());
  char* dst = static_cast<char*>(out.raw_data());
  for (int64_t k = 0; k < b; ++k) {
    check_index(idx[k], n);
    std::memcpy(dst + k * row, src + idx[k] * row, row);
  }
  return out;
}

BatchIterator::BatchIterator(std::vector<Column> columns, std::vector<std::vector<int64_t>> batches, uint64_t base,
                             int64_t num_workers, int64_t prefetch, bool pin_memory)
    : columns_(std::move(columns)), batches_(std::move(batches)), base_(base), prefetch_(prefetch),
      pin_memory_(pin_memory) {
  CONVNET_CHECK(!columns_.empty(), "DataLoader: the data set has no arrays");
  CONVNET_CHECK(num_workers >= 0, "DataLoader: num_workers must be non-negative, got ", num_workers);
  CONVNET_CHECK(prefetch >= 1, "DataLoader: prefetch_factor * num_workers must be at least 1, got ", prefetch);
  const int64_t n = columns_[0].data.size(0);
  for (size_t c = 0; c < columns_.size(); ++c) {
    const Column& col = columns_[c];
    CONVNET_CHECK(col.data.dim() >= 1 && col.data.size(0) == n, "DataLoader: array ", c, " has shape ",
                  shape_str(col.data.shape()), ", expected ", n, " rows as array 0");
    if (col.pipeline) {
      const bool u8 = col.data.dtype() == DType::UInt8, f32 = col.data.dtype() == DType::Float32;
      CONVNET_CHECK((u8 && (col.data.dim() == 3 || col.data.dim() == 4)) || (f32 && col.data.dim() == 4),
                    "DataLoader: a transform needs images as uint8 (N, H, W) or (N, H, W, C), or float32 "
                    "(N, C, H, W); array ", c, " is ", dtype_name(col.data.dtype()), " ",
                    shape_str(col.data.shape()));
    }
  }
  first_.resize(batches_.size());
  int64_t pos = 0;
  for (size_t b = 0; b < batches_.size(); ++b) {
    CONVNET_CHECK(!batches_[b].empty(), "DataLoader: batch ", b, " from the batch sampler is empty");
    first_[b] = pos;
    pos += static_cast<int64_t>(batches_[b].size());
  }
  if (num_workers > 0) {
    slots_.resize(batches_.size());
    for (int64_t w = 0; w < num_workers; ++w) workers_.emplace_back([this] { work(); });
  }
}

BatchIterator::~BatchIterator() { close(); }

std::vector<Tensor> BatchIterator::make(int64_t b, bool parallel) const {
  const std::vector<int64_t>& idx = batches_[b];
  const int64_t bs = static_cast<int64_t>(idx.size());
  std::vector<Tensor> out;
  for (const Column& col : columns_) {
    if (!col.pipeline) {
      out.push_back(gather_rows(col.data, idx.data(), bs));
      continue;
    }
    std::vector<Image> images;
    images.reserve(idx.size());
    for (int64_t i : idx) {
      check_index(i, col.data.size(0));
      images.push_back(image_row(col.data, i));
    }
    out.push_back(col.pipeline->batch(std::move(images), base_, first_[b], parallel, idx.data()));
  }
  if (pin_memory_)
    for (Tensor& t : out) t = t.pin_memory();
  return out;
}

void BatchIterator::work() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t nb = size();
  for (;;) {
    can_issue_.wait(lock, [&] { return stop_ || issued_ >= nb || issued_ < delivered_ + prefetch_; });
    if (stop_ || issued_ >= nb) return;
    const int64_t b = issued_++;
    lock.unlock();
    Slot s;
    try {
      s.out = make(b, false);
    } catch (...) {
      s.error = std::current_exception();
    }
    s.ready = true;
    lock.lock();
    slots_[b] = std::move(s);
    done_.notify_all();
  }
}

bool BatchIterator::next(std::vector<Tensor>& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_ || delivered_ >= size()) return false;
  const int64_t b = delivered_;
  if (workers_.empty()) {
    ++delivered_;
    lock.unlock();
    out = make(b, true);
    return true;
  }
  done_.wait(lock, [&] { return slots_[b].ready; });
  Slot s = std::move(slots_[b]);
  slots_[b] = Slot{};
  ++delivered_;
  can_issue_.notify_all();
  lock.unlock();
  if (s.error) std::rethrow_exception(s.error);
  out = std::move(s.out);
  return true;
}

void BatchIterator::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  can_issue_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  slots_.clear();
}

}  // namespace convnet::data
