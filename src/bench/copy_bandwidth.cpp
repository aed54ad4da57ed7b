// Memory-copy bandwidth, the denominator of decode's bandwidth bound: a decode step of a model
// larger than the last-level cache streams every weight from DRAM once, so it can take no less
// than (bytes read per token) / (bandwidth).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "slmkit/bench.h"

namespace slmkit {

double measure_copy_bandwidth(int n_threads) {
  // 256 MiB each way: eight times a 32 MiB L3, so nearly every byte comes from DRAM.
  constexpr size_t kBytes = size_t{256} << 20;
  std::vector<char> src(kBytes, 1), dst(kBytes, 0);  // written once: pages are faulted in here
  ThreadPool pool(n_threads);
  std::vector<double> rates;
  for (int rep = 0; rep < 7; ++rep) {
    const auto start = std::chrono::steady_clock::now();
    pool.parallel_for(
        static_cast<int64_t>(kBytes),
        [&](int64_t begin, int64_t end, int) {
          std::memcpy(dst.data() + begin, src.data() + begin, static_cast<size_t>(end - begin));
        },
        4096);
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // STREAM's convention for copy: bytes read plus bytes written.
    rates.push_back(2.0 * static_cast<double>(kBytes) / s);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace slmkit
