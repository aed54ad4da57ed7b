// Status codes, the thread-local last-error message, the log sink and the version.
#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "capi/capi_impl.h"
#include "slmkit/version.h"

namespace slmkit::capi {
namespace {

// A fixed buffer, not a std::string: recording a failure allocates nothing and the thread-local
// needs no destructor (longer messages are cut at a character boundary).
constexpr size_t kMessageBytes = 1024;
thread_local char t_last_error[kMessageBytes] = "";

std::atomic<slm_log_sink> g_sink{nullptr};
std::atomic<void*> g_sink_user{nullptr};

void copy_message(const char* message) noexcept {
  size_t n = std::strlen(message);
  if (n >= kMessageBytes) {
    n = kMessageBytes - 1;
    while (n > 0 && (static_cast<unsigned char>(message[n]) & 0xC0) == 0x80) --n;
  }
  std::memcpy(t_last_error, message, n);
  t_last_error[n] = '\0';
}

}  // namespace

slm_status fail_with(slm_status status, const char* message) noexcept {
  copy_message(message);
  if (const slm_log_sink sink = g_sink.load()) sink(0, t_last_error, g_sink_user.load());
  return status;
}

void log_info(const char* format, ...) noexcept {
  const slm_log_sink sink = g_sink.load();
  if (!sink) return;
  char line[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(line, sizeof line, format, args);
  va_end(args);
  sink(1, line, g_sink_user.load());
}

slm_status status_of(ErrorKind kind, slm_status invalid_input_as) noexcept {
  switch (kind) {
    case ErrorKind::invalid_input:
      return invalid_input_as;
    case ErrorKind::io:
      return SLM_ERR_IO;
    case ErrorKind::unsupported:
      return SLM_ERR_UNSUPPORTED;
    case ErrorKind::internal:
      return SLM_ERR_INTERNAL;
  }
  return SLM_ERR_INTERNAL;
}

}  // namespace slmkit::capi

extern "C" {

const char* slm_version(void) {
  return slmkit::version();
}

const char* slm_status_name(slm_status status) {
  switch (status) {
    case SLM_OK:
      return "SLM_OK";
    case SLM_ERR_INVALID_ARGUMENT:
      return "SLM_ERR_INVALID_ARGUMENT";
    case SLM_ERR_BAD_MODEL:
      return "SLM_ERR_BAD_MODEL";
    case SLM_ERR_UNSUPPORTED:
      return "SLM_ERR_UNSUPPORTED";
    case SLM_ERR_OUT_OF_MEMORY:
      return "SLM_ERR_OUT_OF_MEMORY";
    case SLM_ERR_IO:
      return "SLM_ERR_IO";
    case SLM_ERR_INTERNAL:
      return "SLM_ERR_INTERNAL";
  }
  return "SLM_ERR_UNKNOWN";
}

const char* slm_last_error(void) {
  return slmkit::capi::t_last_error;
}

void slm_set_log_sink(slm_log_sink sink, void* user) {
  slmkit::capi::g_sink_user.store(user);
  slmkit::capi::g_sink.store(sink);
}

}  // extern "C"
