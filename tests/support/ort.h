// Skips a test, saying why, where the ONNX Runtime peer (node + onnxruntime-node) is absent.
#pragma once

#include <gtest/gtest.h>

#include "peers/ort_peer.h"

#define SLMKIT_REQUIRE_ORT()                                          \
  do {                                                                \
    if (!::slmkit::peers::OrtPeer::available())                       \
      GTEST_SKIP() << "ONNX Runtime peer not available: "             \
                   << ::slmkit::peers::OrtPeer::unavailable_reason(); \
  } while (0)
