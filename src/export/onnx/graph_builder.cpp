#include "export/onnx/graph_builder.h"

#include <cstring>

#include <fmt/format.h>

#include "core/half.h"

namespace slmkit::onnx_export {

GraphBuilder::GraphBuilder(const std::string& graph_name) : graph_(model_.mutable_graph()) {
  graph_->set_name(graph_name);
}

std::string GraphBuilder::fresh(const std::string& hint) {
  return fmt::format("{}_{}", hint, counter_++);
}

std::string GraphBuilder::weight_raw(const std::string& name, int32_t elem_type,
                                     const std::vector<int64_t>& dims, std::string bytes) {
  onnx::TensorProto* t = graph_->add_initializer();
  t->set_name(name);
  t->set_data_type(elem_type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::move(bytes));
  return name;
}

std::string GraphBuilder::weight_f32(const std::string& name, const std::vector<int64_t>& dims,
                                     std::span<const float> values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return weight_raw(name, onnx::TensorProto::FLOAT, dims, std::move(bytes));
}

std::string GraphBuilder::weight_f16(const std::string& name, const std::vector<int64_t>& dims,
                                     std::span<const uint16_t> values) {
  std::string bytes(values.size() * sizeof(uint16_t), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return weight_raw(name, onnx::TensorProto::FLOAT16, dims, std::move(bytes));
}

std::string GraphBuilder::const_i64(const std::vector<int64_t>& values, bool scalar) {
  std::string key = scalar ? "s:" : "v:";
  for (int64_t v : values) key += fmt::format("{},", v);
  for (const auto& [k, name] : constants_) {
    if (k == key) return name;
  }
  const std::string name = fresh("const_i64");
  std::string bytes(values.size() * sizeof(int64_t), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  std::vector<int64_t> dims;
  if (!scalar) dims.push_back(static_cast<int64_t>(values.size()));
  weight_raw(name, onnx::TensorProto::INT64, dims, std::move(bytes));
  constants_.emplace_back(key, name);
  return name;
}

std::string GraphBuilder::const_float(float value, int32_t elem_type) {
  const std::string key = fmt::format("f{}:{}", elem_type, value);
  for (const auto& [k, name] : constants_) {
    if (k == key) return name;
  }
  const std::string name = fresh("const_f");
  if (elem_type == onnx::TensorProto::FLOAT16) {
    const uint16_t h = f32_to_f16(value);
    weight_f16(name, {}, std::span<const uint16_t>(&h, 1));
  } else {
    weight_f32(name, {}, std::span<const float>(&value, 1));
  }
  constants_.emplace_back(key, name);
  return name;
}

std::vector<std::string> GraphBuilder::op_n(const std::string& type,
                                            const std::vector<std::string>& inputs,
                                            size_t n_outputs, const std::vector<Attr>& attrs,
                                            const std::string& domain) {
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type(type);
  node->set_name(fresh(type));
  if (!domain.empty()) node->set_domain(domain);
  for (const std::string& in : inputs) node->add_input(in);
  std::vector<std::string> outputs;
  for (size_t i = 0; i < n_outputs; ++i) {
    outputs.push_back(fresh(type + "_out"));
    node->add_output(outputs.back());
  }
  for (const Attr& a : attrs) {
    onnx::AttributeProto* p = node->add_attribute();
    p->set_name(a.name);
    if (const auto* i = std::get_if<int64_t>(&a.value)) {
      p->set_type(onnx::AttributeProto::INT);
      p->set_i(*i);
    } else if (const auto* f = std::get_if<float>(&a.value)) {
      p->set_type(onnx::AttributeProto::FLOAT);
      p->set_f(*f);
    } else if (const auto* is = std::get_if<std::vector<int64_t>>(&a.value)) {
      p->set_type(onnx::AttributeProto::INTS);
      for (int64_t v : *is) p->add_ints(v);
    } else {
      p->set_type(onnx::AttributeProto::STRING);
      p->set_s(std::get<std::string>(a.value));
    }
  }
  return outputs;
}

std::string GraphBuilder::op(const std::string& type, const std::vector<std::string>& inputs,
                             const std::vector<Attr>& attrs, const std::string& domain) {
  return op_n(type, inputs, 1, attrs, domain).front();
}

void GraphBuilder::rename(const std::string& from, const std::string& to) {
  onnx::NodeProto* node = graph_->add_node();
  node->set_op_type("Identity");
  node->set_name(fresh("Identity"));
  node->add_input(from);
  node->add_output(to);
}

void GraphBuilder::set_type(onnx::ValueInfoProto* info, int32_t elem_type,
                            const std::vector<Dim>& dims) {
  onnx::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  for (const Dim& d : dims) {
    onnx::TensorShapeProto_Dimension* dim = shape->add_dim();
    if (const auto* v = std::get_if<int64_t>(&d)) {
      dim->set_dim_value(*v);
    } else {
      dim->set_dim_param(std::get<std::string>(d));
    }
  }
}

void GraphBuilder::input(const std::string& name, int32_t elem_type, const std::vector<Dim>& dims) {
  onnx::ValueInfoProto* info = graph_->add_input();
  info->set_name(name);
  set_type(info, elem_type, dims);
}

void GraphBuilder::output(const std::string& name, int32_t elem_type,
                          const std::vector<Dim>& dims) {
  onnx::ValueInfoProto* info = graph_->add_output();
  info->set_name(name);
  set_type(info, elem_type, dims);
}

onnx::ModelProto GraphBuilder::finish(int64_t opset, bool uses_ms_domain) {
  model_.set_ir_version(8);
  model_.set_producer_name("slmkit");
  auto* o = model_.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  if (uses_ms_domain) {
    auto* ms = model_.add_opset_import();
    ms->set_domain("com.microsoft");
    ms->set_version(1);
  }
  return std::move(model_);
}

}  // namespace slmkit::onnx_export
