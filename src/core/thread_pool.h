// A persistent fork/join pool for the engine's per-layer parallel loops. A decode step of a tiny
// model issues hundreds of parallel loops of a few microseconds each, so waking sleeping threads
// through the kernel every time would cost more than the work: workers spin on a generation
// counter for a short while after each job and only then sleep (C++20 atomic wait = futex).
// The calling thread takes part as thread 0; no state is shared between pools.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace slmkit {

class ThreadPool {
 public:
  // n_threads counts the caller: 1 means no worker threads at all. 0 means
  // std::thread::hardware_concurrency(). spin_us: how long an idle worker polls before sleeping.
  explicit ThreadPool(int n_threads = 0, int spin_us = 100);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(thread, n_threads) once on each of the pool's threads and returns when all are done.
  // The first exception thrown by any call is rethrown here (after all threads finished).
  template <typename Fn>
  void run(Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run_erased([](void* f, int thread, int n) { (*static_cast<F*>(f))(thread, n); },
               const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Splits [0, n) into at most size() contiguous parts whose bounds are multiples of `grain`
  // (except the end) and calls fn(begin, end, thread) once per non-empty part.
  template <typename Fn>
  void parallel_for(int64_t n, Fn&& fn, int64_t grain = 1) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    const int64_t n_units = (n + grain - 1) / grain;
    const int parts = static_cast<int>(n_units < n_threads_ ? n_units : n_threads_);
    if (parts <= 1) {
      fn(int64_t{0}, n, 0);
      return;
    }
    run([&](int thread, int) {
      if (thread >= parts) return;
      const int64_t u0 = n_units * thread / parts;
      const int64_t u1 = n_units * (thread + 1) / parts;
      const int64_t begin = u0 * grain;
      const int64_t end = u1 * grain < n ? u1 * grain : n;
      if (begin < end) fn(begin, end, thread);
    });
  }

 private:
  using Trampoline = void (*)(void*, int, int);
  void run_erased(Trampoline call, void* fn);
  void worker_main(int thread);
  void execute(int thread);

  int n_threads_ = 1;
  int spin_us_ = 100;
  std::vector<std::thread> workers_;

  // Job published to the workers: written before `generation_` is bumped (release), read after
  // it is observed (acquire).
  Trampoline job_call_ = nullptr;
  void* job_fn_ = nullptr;
  alignas(64) std::atomic<uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};             // workers blocked in generation_.wait()
  alignas(64) std::atomic<int> pending_{0};  // workers that have not finished the current job
  std::atomic<bool> caller_waiting_{false};  // the caller blocked in pending_.wait()
  std::atomic<bool> stop_{false};

  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace slmkit
