// Skips a test, saying why, where the ONNX Runtime peer (node + onnxruntime-node) is absent.
#pragma once

#include <gtest/gtest.h>

#include "bench/ort_peer.h"

#define SLMKIT_REQUIRE_ORT()                                          \
  do {                                                                \
    if (!::slmkit::bench::OrtPeer::available())                       \
      GTEST_SKIP() << "ONNX Runtime peer not available: "             \
                   << ::slmkit::bench::OrtPeer::unavailable_reason(); \
  } while (0)
