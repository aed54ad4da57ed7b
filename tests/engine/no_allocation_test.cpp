// "No allocation per token": this test binary's global operator new counts every allocation, and
// a decode step (Session::eval of one token) and a sampling step must not make any once the
// session exists and the sampler has seen one set of logits.
#include <atomic>
#include <cstdlib>
#include <new>

#include "slmkit/engine.h"
#include "slmkit/sampler.h"
#include "slmkit/synth.h"
#include "support/fixtures.h"

namespace {
std::atomic<long> g_allocations{0};

void* counted(std::size_t n, std::size_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p = align > alignof(std::max_align_t)
                ? std::aligned_alloc(align, (n + align - 1) / align * align)
                : std::malloc(n);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t n) {
  return counted(n, 0);
}
void* operator new[](std::size_t n) {
  return counted(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return counted(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return counted(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted(n, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace slmkit {
namespace {

TEST(NoAllocation, DecodeStepsAndSamplingAllocateNothing) {
  for (const char* arch : {"llama", "gpt2", "gemma3"}) {
    SynthOptions o;
    o.arch = arch;
    o.shape = "tiny";
    Engine engine(synthesize_model(o));
    for (int threads : {1, 2}) {
      Session session(engine, SessionOptions{.n_ctx = 64, .n_threads = threads});
      SamplerParams sp;
      sp.repeat_penalty = 1.1f;
      Sampler sampler(sp);
      const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8};
      int32_t id = sampler.sample(session.eval(prompt));
      sampler.accept(id);
      long in_eval = 0, in_sampler = 0;
      for (int step = 0; step < 20; ++step) {
        const long a = g_allocations.load();
        const std::span<const float> logits = session.eval(std::span<const int32_t>(&id, 1));
        const long b = g_allocations.load();
        id = sampler.sample(logits);
        sampler.accept(id);
        in_eval += b - a;
        in_sampler += g_allocations.load() - b;
      }
      EXPECT_EQ(in_eval, 0) << arch << ", " << threads << " threads";
      EXPECT_EQ(in_sampler, 0) << arch << ", " << threads << " threads";
    }
  }
}

}  // namespace
}  // namespace slmkit
