#include "core/thread_pool.h"

#include <atomic>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

namespace slmkit {
namespace {

TEST(ThreadPool, ParallelForCoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 64, 1000, 4097}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.parallel_for(
            n,
            [&](int64_t begin, int64_t end, int thread) {
              ASSERT_GE(thread, 0);
              ASSERT_LT(thread, threads);
              // Part boundaries are multiples of the grain, except the end.
              ASSERT_EQ(begin % grain, 0);
              ASSERT_TRUE(end == n || end % grain == 0);
              for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
            },
            grain);
        for (int64_t i = 0; i < n; ++i) {
          ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " i=" << i;
        }
      }
    }
  }
}

TEST(ThreadPool, RunCallsEveryThreadOnce) {
  ThreadPool pool(4);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::atomic<int>> calls(4);
    pool.run([&](int thread, int n) {
      ASSERT_EQ(n, 4);
      calls[static_cast<size_t>(thread)]++;
    });
    for (auto& c : calls) ASSERT_EQ(c.load(), 1) << "round " << round;
  }
}

// Many tiny jobs back to back: the fork/join must not lose or repeat a job, including when the
// workers have gone to sleep in between (spin time 0 forces the sleeping path every time).
TEST(ThreadPool, ManySmallJobsWithAndWithoutSpinning) {
  for (int spin_us : {0, 50}) {
    ThreadPool pool(3, spin_us);
    int64_t total = 0;
    std::atomic<int64_t> sum{0};
    for (int job = 0; job < 3000; ++job) {
      pool.parallel_for(3, [&](int64_t b, int64_t e, int) { sum += e - b; });
      total += 3;
    }
    EXPECT_EQ(sum.load(), total);
  }
}

TEST(ThreadPool, ExceptionFromAWorkerIsRethrownToTheCaller) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.run([](int thread, int) {
    if (thread == 2) throw std::runtime_error("boom");
  }),
               std::runtime_error);
  // The pool stays usable.
  std::atomic<int> n{0};
  pool.run([&](int, int) { n++; });
  EXPECT_EQ(n.load(), 3);
}

TEST(ThreadPool, SeparatePoolsDoNotInterfere) {
  ThreadPool a(2), b(2);
  std::atomic<int64_t> sa{0}, sb{0};
  for (int i = 0; i < 1000; ++i) {
    a.parallel_for(100, [&](int64_t s, int64_t e, int) { sa += e - s; });
    b.parallel_for(10, [&](int64_t s, int64_t e, int) { sb += e - s; });
  }
  EXPECT_EQ(sa.load(), 100000);
  EXPECT_EQ(sb.load(), 10000);
}

}  // namespace
}  // namespace slmkit
