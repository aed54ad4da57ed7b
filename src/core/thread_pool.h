// A persistent fork/join pool for the engine's per-layer parallel loops. A decode step of a tiny
// model issues hundreds of parallel loops of a few microseconds each, so waking sleeping threads
// through the kernel every time would cost more than the work: workers spin on a generation
// counter for a short while after each job and only then sleep (C++20 atomic wait = futex).
//
// A job is size() parts that whoever comes first claims (caller included), so the caller never
// waits for a worker that has not started: on a machine with more runnable threads than cores a
// descheduled worker would otherwise hold up every loop for a whole time slice (measured on this
// 2-core machine under load: decode 5x slower with 2 threads than with 1). The caller only waits
// for parts a running worker has claimed. No state is shared between pools.
//
// Embedders (the C API) may start the workers through their own hooks and keep the pool's worker
// handles in an Arena; then the pool itself allocates nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>

#include "core/arena.h"

namespace slmkit {

// How a pool starts and ends its workers: start(fn, arg, user) runs fn(arg) on a new thread and
// returns a handle for it (nullptr when it cannot); join(handle, user) waits until fn returned and
// releases the thread. The default uses std::thread.
struct ThreadHooks {
  void* (*start)(void (*fn)(void*), void* arg, void* user) = nullptr;
  void (*join)(void* thread, void* user) = nullptr;
  void* user = nullptr;
};

class ThreadPool {
 public:
  // n_threads counts the caller: 1 means no worker threads at all. 0 means
  // std::thread::hardware_concurrency(). spin_us: how long an idle worker polls before sleeping.
  // hooks: null for std::thread. arena: where the worker handles go (null: the heap); a
  // measuring arena only counts them, and then no thread is started (size() is still n_threads,
  // for sizing; such a pool must not run jobs). Throws Error(io) when a thread cannot start.
  explicit ThreadPool(int n_threads = 0, int spin_us = 100, const ThreadHooks* hooks = nullptr,
                      Arena* arena = nullptr);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(part, n_threads) once for each part 0..size()-1, on whichever of the pool's threads
  // claims it (one thread may run several parts, one after the other), and returns when all are
  // done. The first exception thrown by any call is rethrown here (after every part finished).
  template <typename Fn>
  void run(Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run_erased([](void* f, int thread, int n) { (*static_cast<F*>(f))(thread, n); },
               const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // Splits [0, n) into at most size() contiguous parts whose bounds are multiples of `grain`
  // (except the end) and calls fn(begin, end, part) once per non-empty part (part < size()).
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
  void worker_main();
  void stop_workers();
  void claim_parts();  // runs unclaimed parts of the current job until none is left
  void execute(int part);

  int n_threads_ = 1;
  int spin_us_ = 100;
  ThreadHooks hooks_;
  void** workers_ = nullptr;  // [n_threads - 1] handles from hooks_.start, n_started_ of them set
  int n_started_ = 0;
  std::unique_ptr<void*[]> heap_workers_;  // workers_ when no arena holds them

  // Job data: written before claims_ is published (release), read after a successful claim
  // (acquire). Stable while any part is unfinished, and the caller publishes the next job only
  // after every part finished, so a claim always reads its own job.
  Trampoline job_call_ = nullptr;
  void* job_fn_ = nullptr;
  uint32_t job_count_ = 0;
  // job number (high 32 bits) | next unclaimed part (low 32): the job number makes a claim
  // against an old job fail instead of taking a part of the next one.
  alignas(64) std::atomic<uint64_t> claims_{0};
  alignas(64) std::atomic<uint32_t> generation_{0};  // bumped per job, for waking workers
  std::atomic<int> sleepers_{0};                     // workers blocked in generation_.wait()
  alignas(64) std::atomic<int> done_{0};             // parts of the current job finished
  std::atomic<bool> caller_waiting_{false};          // the caller blocked in done_.wait()
  std::atomic<bool> stop_{false};

  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace slmkit
