// The guard of the tests that run llama.cpp beside our engine: skips, with the reason, where the
// peer library is absent.
#pragma once

#include <gtest/gtest.h>

#include "peers/llama_cpp_peer.h"

#define SLMKIT_REQUIRE_LLAMA_CPP()                                         \
  do {                                                                     \
    if (!::slmkit::peers::LlamaCppPeer::available())                       \
      GTEST_SKIP() << "llama.cpp peer not available: "                     \
                   << ::slmkit::peers::LlamaCppPeer::unavailable_reason(); \
  } while (0)
