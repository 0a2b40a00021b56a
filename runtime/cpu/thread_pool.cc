//===- thread_pool.cc - The CPU device's worker threads -------------------===//
#include "runtime/cpu/thread_pool.h"

#include <memory>
#include <system_error>

namespace bathy::rt {
namespace {
thread_local bool inside_task = false;

std::mutex default_mu;
std::unique_ptr<ThreadPool> &DefaultSlot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}
} // namespace

ThreadPool::ThreadPool(int num_threads) {
  for (int i = 1; i < num_threads; ++i) {
    // The system may refuse threads (limits, memory): the pool then runs
    // on the ones it got.
    try {
      workers_.emplace_back([this] { WorkerLoop(); });
    } catch (const std::system_error &) {
      break;
    }
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::RunTasks() {
  inside_task = true;
  std::unique_lock<std::mutex> lock(mu_);
  while (next_ < num_tasks_) {
    int64_t i = next_++;
    const std::function<void(int64_t)> *task = task_;
    lock.unlock();
    // An exception may not leave a worker thread: the first one is handed
    // to the loop's caller once every task is done.
    try {
      (*task)(i);
    } catch (...) {
      std::lock_guard<std::mutex> guard(error_mu_);
      if (!error_)
        error_ = std::current_exception();
    }
    lock.lock();
    if (++finished_ == num_tasks_)
      done_.notify_all();
  }
  inside_task = false;
}

namespace {
/// Polls `done` for a few tens of microseconds before the caller blocks:
/// kernels come back to back, and a worker (or the caller) that is still
/// polling skips a futex sleep and wake-up, which cost as much as a small
/// kernel (~12% of MobileNetV2's run time on 2 threads).
template <typename Done> bool SpinUntil(Done done) {
  for (int i = 0; i < 4096; ++i) {
    if (done())
      return true;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  return done();
}
} // namespace

void ThreadPool::WorkerLoop() {
  uint64_t seen = 0;
  while (true) {
    SpinUntil(
        [&] { return generation_.load(std::memory_order_acquire) != seen; });
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_)
        return;
      seen = generation_;
    }
    RunTasks();
  }
}

void ThreadPool::ParallelFor(int64_t num_tasks,
                             const std::function<void(int64_t)> &task) {
  if (num_tasks <= 0)
    return;
  if (num_tasks == 1 || workers_.empty() || inside_task) {
    for (int64_t i = 0; i < num_tasks; ++i)
      task(i);
    return;
  }
  // One loop at a time: runs on other threads (a server's requests) take
  // turns, where they would overwrite each other's loop state.
  std::lock_guard<std::mutex> turn(loop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = &task;
    num_tasks_ = num_tasks;
    next_ = 0;
    finished_ = 0;
    ++generation_;
  }
  wake_.notify_all();
  RunTasks();
  SpinUntil(
      [&] { return finished_.load(std::memory_order_acquire) == num_tasks; });
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return finished_ == num_tasks_; });
  task_ = nullptr;
  num_tasks_ = 0;
  lock.unlock();
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> guard(error_mu_);
    std::swap(error, error_);
  }
  if (error)
    std::rethrow_exception(error);
}

ThreadPool &ThreadPool::Default() {
  std::lock_guard<std::mutex> lock(default_mu);
  std::unique_ptr<ThreadPool> &pool = DefaultSlot();
  if (!pool) {
    unsigned hw = std::thread::hardware_concurrency();
    pool = std::make_unique<ThreadPool>(hw ? static_cast<int>(hw) : 1);
  }
  return *pool;
}

void ThreadPool::SetDefaultThreads(int num_threads) {
  std::lock_guard<std::mutex> lock(default_mu);
  DefaultSlot() =
      std::make_unique<ThreadPool>(num_threads < 1 ? 1 : num_threads);
}

} // namespace bathy::rt
