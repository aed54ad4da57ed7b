#include "slmkit/model.h"

#include <cstring>

#include "core/fail.h"

namespace slmkit {

const Tensor* Model::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const Tensor& Model::get(const std::string& name) const {
  const Tensor* t = find(name);
  if (!t) fail_invalid("{}: model has no tensor '{}'", source.path.string(), name);
  return *t;
}

void Model::add(Tensor tensor) {
  if (index_.count(tensor.name())) {
    fail_invalid("{}: tensor '{}' appears twice", source.path.string(), tensor.name());
  }
  index_.emplace(tensor.name(), tensors_.size());
  tensors_.push_back(std::move(tensor));
}

void Model::remove(const std::string& name) {
  auto it = index_.find(name);
  if (it == index_.end()) return;
  tensors_.erase(tensors_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name(), i);
}

int64_t Model::n_stored_elements() const {
  int64_t n = 0;
  for (const Tensor& t : tensors_) n += t.n_elements();
  return n;
}

int64_t Model::n_parameters() const {
  int64_t n = n_stored_elements();
  const Tensor* out = find("output.weight");
  const Tensor* emb = find("token_embd.weight");
  if (out && emb && out->dtype() == emb->dtype() && out->shape() == emb->shape() &&
      out->n_bytes() == emb->n_bytes() &&
      std::memcmp(out->data(), emb->data(), out->n_bytes()) == 0) {
    n -= out->n_elements();
  }
  return n;
}

uint64_t Model::n_bytes() const {
  uint64_t n = 0;
  for (const Tensor& t : tensors_) n += t.n_bytes();
  return n;
}

}  // namespace slmkit
