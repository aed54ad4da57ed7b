#include "core/thread_pool.h"

#include <chrono>
#include <thread>

#include "core/fail.h"

namespace slmkit {
namespace {

void* start_std_thread(void (*fn)(void*), void* arg, void*) {
  try {
    return new std::thread(fn, arg);
  } catch (...) {
    return nullptr;
  }
}

void join_std_thread(void* thread, void*) {
  auto* t = static_cast<std::thread*>(thread);
  t->join();
  delete t;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Polls `done()` for about `spin_us` microseconds; true when it became true in that time.
template <typename Done>
bool spin_until(Done done, int spin_us) {
  if (done()) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace

ThreadPool::ThreadPool(int n_threads, int spin_us, const ThreadHooks* hooks, Arena* arena)
    : spin_us_(spin_us < 0 ? 0 : spin_us) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  n_threads_ = n_threads < 1 ? 1 : n_threads;
  hooks_ = hooks ? *hooks : ThreadHooks{start_std_thread, join_std_thread, nullptr};
  const auto n_workers = static_cast<size_t>(n_threads_ - 1);
  if (n_workers == 0) return;
  if (arena) {
    workers_ = static_cast<void**>(arena->take(n_workers * sizeof(void*), alignof(void*)));
    if (arena->measuring()) return;
  } else {
    heap_workers_ = std::make_unique<void*[]>(n_workers);
    workers_ = heap_workers_.get();
  }
  for (size_t t = 0; t < n_workers; ++t) {
    void* handle = hooks_.start([](void* pool) { static_cast<ThreadPool*>(pool)->worker_main(); },
                                this, hooks_.user);
    if (!handle) {
      stop_workers();
      fail_io("thread pool: cannot start worker thread {} of {}", t + 1, n_workers);
    }
    workers_[n_started_++] = handle;
  }
}

ThreadPool::~ThreadPool() {
  stop_workers();
}

void ThreadPool::stop_workers() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (int t = 0; t < n_started_; ++t) hooks_.join(workers_[t], hooks_.user);
  n_started_ = 0;
}

void ThreadPool::execute(int part) {
  try {
    job_call_(job_fn_, part, n_threads_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::claim_parts() {
  const auto parts = static_cast<uint32_t>(n_threads_);
  uint64_t c = claims_.load(std::memory_order_acquire);
  while (static_cast<uint32_t>(c) < parts) {
    if (!claims_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
      continue;  // c now holds the current value: another part, or another job
    }
    execute(static_cast<int>(static_cast<uint32_t>(c)));
    // seq_cst pairs with the caller's (caller_waiting_ = true, load done_).
    if (done_.fetch_add(1) + 1 == n_threads_ && caller_waiting_.load()) done_.notify_one();
    c = claims_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run_erased(Trampoline call, void* fn) {
  if (n_threads_ == 1) {
    call(fn, 0, 1);
    return;
  }
  job_call_ = call;
  job_fn_ = fn;
  error_ = nullptr;
  done_.store(0, std::memory_order_relaxed);
  claims_.store(uint64_t{++job_count_} << 32, std::memory_order_release);
  // seq_cst pairs with the workers' (sleepers_++, load generation_): either a worker sees the new
  // generation before sleeping, or we see it asleep and wake it.
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) generation_.notify_all();

  claim_parts();

  if (!spin_until([this] { return done_.load(std::memory_order_acquire) == n_threads_; },
                  spin_us_)) {
    caller_waiting_.store(true);
    for (int d = done_.load(); d != n_threads_; d = done_.load()) done_.wait(d);
    caller_waiting_.store(false);
  }
  if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker_main() {
  uint32_t seen = 0;
  for (;;) {
    auto published = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    if (!spin_until(published, spin_us_)) {
      sleepers_.fetch_add(1);
      while (generation_.load() == seen) generation_.wait(seen);
      sleepers_.fetch_sub(1);
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load()) return;
    claim_parts();
  }
}

}  // namespace slmkit
