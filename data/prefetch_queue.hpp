#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace wsd {

// Makes the items of a numbered sequence on worker threads, at most `depth` items ahead of the
// consumer, and hands them out strictly in sequence order whatever thread finished first. The
// producer must be a pure function of the item number and safe to call from several threads.
class PrefetchQueue {
 public:
  using Producer = std::function<torch::Tensor(int64_t)>;

  // `thread_init` runs first on every worker thread (e.g. to select a CUDA device).
  PrefetchQueue(Producer producer, int workers, int depth, std::function<void()> thread_init = {});
  ~PrefetchQueue();  // stops and joins the workers; work in progress is finished and dropped
  PrefetchQueue(const PrefetchQueue&) = delete;
  PrefetchQueue& operator=(const PrefetchQueue&) = delete;

  // Item `number`; the sequence continues from there. Asking for anything but the item after the
  // previous one (a seek) drops what was made ahead. Rethrows the producer's exception for it.
  torch::Tensor take(int64_t number);

 private:
  struct Item {
    torch::Tensor value;
    std::exception_ptr error;
  };
  void work();

  Producer producer_;
  std::function<void()> thread_init_;
  int workers_;
  int depth_;
  std::mutex mutex_;
  std::condition_variable work_ready_;  // a ticket became available, or stop
  std::condition_variable item_ready_;
  std::map<int64_t, Item> done_;
  int64_t expected_ = 0;     // the item the consumer takes next
  int64_t next_ticket_ = 0;  // the next item a worker starts
  uint64_t generation_ = 0;  // bumped by a seek: results of older tickets are dropped
  bool stop_ = false;
  std::exception_ptr init_error_;     // thread_init failed: take() rethrows it
  std::vector<std::thread> threads_;  // started by the first take()
};

}  // namespace wsd
