#pragma once

#include <string>
#include <vector>

#include "operators/linear_operator.hpp"
#include "python/bindings/bindings.hpp"

namespace wsd::python {

// A forward model written in Python: any object with forward(x) and adjoint(y) on torch
// tensors [N, ...]. It has no transfer function, so the proximal step solves its normal
// equations by conjugate gradients (infer/gaussian/cg_gaussian_posterior.hpp) and the steps that
// need only A and A^H use it as they are. The object is called with the GIL held; its results
// are checked for shape and returned in the dtype and on the device of the input.
class PythonOperatorImpl : public LinearOperatorImpl {
 public:
  PythonOperatorImpl(py::object op, std::vector<int64_t> input_shape,
                     std::vector<int64_t> output_shape, std::string name);
  ~PythonOperatorImpl() override;

  std::string kind() const override { return name_; }
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::Tensor adjoint(const torch::Tensor& y) override;
  std::vector<int64_t> input_shape() const override { return input_shape_; }
  std::vector<int64_t> output_shape() const override { return output_shape_; }

 private:
  torch::Tensor call(const char* method, const torch::Tensor& in,
                     const std::vector<int64_t>& in_shape, const std::vector<int64_t>& out_shape);

  py::object op_;
  std::vector<int64_t> input_shape_;
  std::vector<int64_t> output_shape_;
  std::string name_;
};

}  // namespace wsd::python
