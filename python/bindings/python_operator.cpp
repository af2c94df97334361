#include "python/bindings/python_operator.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/util/errors.hpp"

namespace wsd::python {

PythonOperatorImpl::PythonOperatorImpl(py::object op, std::vector<int64_t> input_shape,
                                       std::vector<int64_t> output_shape, std::string name)
    : op_(std::move(op)),
      input_shape_(std::move(input_shape)),
      output_shape_(std::move(output_shape)),
      name_(std::move(name)) {
  for (const char* method : {"forward", "adjoint"}) {
    if (!py::hasattr(op_, method)) {
      throw InputError(fmt::format("operator '{}' has no method {}(): an operator written in "
                                   "Python needs forward(x) and adjoint(y)",
                                   name_, method));
    }
  }
}

PythonOperatorImpl::~PythonOperatorImpl() {
  // The last reference may go on a thread that does not hold the GIL (a solve that released it).
  if (Py_IsInitialized()) {
    py::gil_scoped_acquire gil;
    op_ = py::object();
  } else {
    op_.release();
  }
}

torch::Tensor PythonOperatorImpl::call(const char* method, const torch::Tensor& in,
                                       const std::vector<int64_t>& in_shape,
                                       const std::vector<int64_t>& out_shape) {
  check_shape(in, in_shape, method);
  torch::Tensor out;
  {
    py::gil_scoped_acquire gil;
    const py::object result = op_.attr(method)(in);
    if (!THPVariable_Check(result.ptr())) {
      throw InputError(fmt::format("operator '{}': {}() returned {}, not a torch tensor", name_,
                                   method, std::string(py::str(py::type::of(result)))));
    }
    out = result.cast<torch::Tensor>();
  }
  std::vector<int64_t> expected = {in.size(0)};
  expected.insert(expected.end(), out_shape.begin(), out_shape.end());
  if (out.sizes().vec() != expected) {
    throw InputError(fmt::format("operator '{}': {}() returned shape [{}], expected [{}]", name_,
                                 method, fmt::join(out.sizes(), ", "), fmt::join(expected, ", ")));
  }
  return out.to(in.device(), in.scalar_type());
}

torch::Tensor PythonOperatorImpl::forward(const torch::Tensor& x) {
  return call("forward", x, input_shape_, output_shape_);
}

torch::Tensor PythonOperatorImpl::adjoint(const torch::Tensor& y) {
  return call("adjoint", y, output_shape_, input_shape_);
}

}  // namespace wsd::python
