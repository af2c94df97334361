#include "data/prefetch_queue.hpp"

#include <torch/torch.h>

namespace wsd {

PrefetchQueue::PrefetchQueue(Producer producer, int workers, int depth,
                             std::function<void()> thread_init)
    : producer_(std::move(producer)),
      thread_init_(std::move(thread_init)),
      workers_(workers),
      depth_(std::max(depth, 1)) {
  TORCH_CHECK(workers_ > 0, "PrefetchQueue needs at least one worker");
}

PrefetchQueue::~PrefetchQueue() {
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void PrefetchQueue::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (thread_init_) {
    try {
      lock.unlock();
      thread_init_();
      lock.lock();
    } catch (...) {
      lock.lock();
      init_error_ = std::current_exception();
      item_ready_.notify_all();
      return;
    }
  }
  while (true) {
    work_ready_.wait(lock, [&] { return stop_ || next_ticket_ < expected_ + depth_; });
    if (stop_) return;
    const int64_t number = next_ticket_++;
    const uint64_t generation = generation_;
    lock.unlock();
    Item item;
    try {
      item.value = producer_(number);
    } catch (...) {
      item.error = std::current_exception();
    }
    lock.lock();
    if (generation == generation_ && number >= expected_) {
      done_.emplace(number, std::move(item));
      item_ready_.notify_all();
    }
  }
}

torch::Tensor PrefetchQueue::take(int64_t number) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (number != expected_ || threads_.empty()) {
    ++generation_;
    done_.clear();
    expected_ = next_ticket_ = number;
    work_ready_.notify_all();
  }
  if (threads_.empty()) {
    for (int i = 0; i < workers_; ++i) threads_.emplace_back([this] { work(); });
  }
  item_ready_.wait(lock, [&] { return init_error_ || done_.count(number) > 0; });
  if (init_error_) std::rethrow_exception(init_error_);
  Item item = std::move(done_.at(number));
  done_.erase(number);
  expected_ = number + 1;
  lock.unlock();
  work_ready_.notify_all();
  if (item.error) std::rethrow_exception(item.error);
  return item.value;
}

}  // namespace wsd
