#include "python/bindings/bindings.hpp"

#include "core/util/device.hpp"

namespace wsd::python {

torch::Device device_of(const std::string& name) { return resolve_device(name); }

}  // namespace wsd::python

PYBIND11_MODULE(_wsdiff, m) {
  m.doc() = "wsdiff's C++ library: priors, noise, operators, samplers and solvers";
  m.attr("__version__") = WSD_VERSION;
  wsd::python::bind_errors(m);
  wsd::python::bind_config(m);
  wsd::python::bind_prior(m);
  wsd::python::bind_operators(m);
  wsd::python::bind_solve(m);
}
