//===- thread_pool.h - The CPU device's worker threads --------------------===//
//
// A fixed set of worker threads that run the tasks of one parallel loop at a
// time. The calling thread takes part, so a pool of N threads starts N-1
// workers. Kernels split their outer parallel range into tasks; a loop issued
// from inside a task runs inline (no nested parallelism, no deadlock).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_THREAD_POOL_H
#define BATHY_RUNTIME_CPU_THREAD_POOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace bathy::rt {

class ThreadPool {
public:
  /// A pool running loops on `num_threads` threads (the caller included);
  /// values below 1 mean one.
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int num_threads() const { return static_cast<int>(workers_.size()) + 1; }

  /// Runs `task(i)` for every i in [0, num_tasks) and returns when all are
  /// done. Tasks are handed out dynamically; there is no order among them.
  /// Loops from different threads take turns. If tasks throw, the first
  /// exception is rethrown here once every task is done.
  void ParallelFor(int64_t num_tasks, const std::function<void(int64_t)> &task);

  /// The pool kernels use. Created on first use with all hardware threads
  /// unless SetDefaultThreads ran first.
  static ThreadPool &Default();
  /// Replaces the default pool (call while no kernel runs).
  static void SetDefaultThreads(int num_threads);

private:
  void WorkerLoop();
  void RunTasks();

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int64_t)> *task_ = nullptr;
  int64_t num_tasks_ = 0;
  int64_t next_ = 0; // next task to hand out (guarded by mu_)
  // Tasks completed and loops issued: written under mu_, also read without
  // it while spinning.
  std::atomic<int64_t> finished_{0};
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
  std::mutex loop_mu_;  // held by the thread whose loop runs
  std::mutex error_mu_; // guards error_
  std::exception_ptr error_;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_THREAD_POOL_H
