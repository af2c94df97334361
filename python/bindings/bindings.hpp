#pragma once

// The extension module `wsdiff._wsdiff`: a thin layer over the libraries the wsdiff executable
// links. Each bind_*.cpp adds one group of names; python/wsdiff/ builds the documented API on
// top (configs as dicts, deepinv adapters). Long work runs with the GIL released; callbacks into
// Python (progress, operators written in Python) take it back for their own duration.

#include <torch/extension.h>

#include <string>
#include <vector>

namespace wsd::python {

namespace py = pybind11;

// A device name as the CLI's --device takes it ("auto", "cpu", "cuda", "cuda:1").
torch::Device device_of(const std::string& name);

void bind_errors(py::module_& m);
void bind_config(py::module_& m);
void bind_prior(py::module_& m);
void bind_operators(py::module_& m);
void bind_solve(py::module_& m);

}  // namespace wsd::python
