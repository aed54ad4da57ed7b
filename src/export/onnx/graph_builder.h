// A thin layer over onnx::ModelProto: unique value names, initializers, constants, nodes and
// typed graph inputs/outputs. Every node's output is named by the builder, so graph code reads as
// expressions: `auto y = g.op("MatMul", {x, w});`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include <onnx/onnx_pb.h>

namespace slmkit::onnx_export {

// A dimension of a graph input or output: a fixed size or a symbolic name ("batch_size").
using Dim = std::variant<int64_t, std::string>;

struct Attr {
  std::string name;
  std::variant<int64_t, float, std::vector<int64_t>, std::string> value;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(const std::string& graph_name);

  // Initializers (weights). `dims` outermost first. Returns the value name.
  std::string weight_f32(const std::string& name, const std::vector<int64_t>& dims,
                         std::span<const float> values);
  std::string weight_f16(const std::string& name, const std::vector<int64_t>& dims,
                         std::span<const uint16_t> values);
  std::string weight_raw(const std::string& name, int32_t elem_type,
                         const std::vector<int64_t>& dims, std::string bytes);
  // Small constants, deduplicated by value.
  std::string const_i64(const std::vector<int64_t>& values, bool scalar = false);
  std::string const_float(float value, int32_t elem_type);  // a scalar of FLOAT or FLOAT16

  std::string op(const std::string& type, const std::vector<std::string>& inputs,
                 const std::vector<Attr>& attrs = {}, const std::string& domain = "");
  std::vector<std::string> op_n(const std::string& type, const std::vector<std::string>& inputs,
                                size_t n_outputs, const std::vector<Attr>& attrs = {},
                                const std::string& domain = "");
  // Gives the value `from` the graph-visible name `to` (an Identity node).
  void rename(const std::string& from, const std::string& to);

  void input(const std::string& name, int32_t elem_type, const std::vector<Dim>& dims);
  void output(const std::string& name, int32_t elem_type, const std::vector<Dim>& dims);

  onnx::GraphProto& graph() { return *graph_; }
  // Moves the model out; the builder is spent afterwards.
  onnx::ModelProto finish(int64_t opset, bool uses_ms_domain);

 private:
  std::string fresh(const std::string& hint);
  static void set_type(onnx::ValueInfoProto* info, int32_t elem_type, const std::vector<Dim>& dims);

  onnx::ModelProto model_;
  onnx::GraphProto* graph_;
  int64_t counter_ = 0;
  std::vector<std::pair<std::string, std::string>> constants_;  // key -> value name
};

}  // namespace slmkit::onnx_export
