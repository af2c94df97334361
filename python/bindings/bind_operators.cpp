// Forward operators: the built-in ones from a task config, the registry, and operators written
// in Python.
#include <torch/torch.h>

#include "core/config/config_json.hpp"
#include "core/util/errors.hpp"
#include "operators/operator_factory.hpp"
#include "operators/operator_registry.hpp"
#include "python/bindings/bindings.hpp"
#include "python/bindings/python_operator.hpp"

namespace wsd::python {

void bind_operators(py::module_& m) {
  using Op = LinearOperatorImpl;
  py::class_<Op, std::shared_ptr<Op>>(m, "LinearOperator")
      .def("forward", &Op::forward, py::arg("x"), py::call_guard<py::gil_scoped_release>())
      .def("adjoint", &Op::adjoint, py::arg("y"), py::call_guard<py::gil_scoped_release>())
      .def("transfer_function", &Op::transfer_function)
      .def_property_readonly("kind", &Op::kind)
      .def_property_readonly("input_shape", &Op::input_shape)
      .def_property_readonly("output_shape", &Op::output_shape)
      .def_property_readonly("is_fourier_diagonal", &Op::is_fourier_diagonal)
      .def("norm_squared", [](Op& op) { return operator_norm_squared(op); },
           py::call_guard<py::gil_scoped_release>())
      .def(
          "to",
          [](Op& op, const std::string& device) {
            op.to(device_of(device));
            return std::static_pointer_cast<Op>(op.shared_from_this());
          },
          py::arg("device"));

  m.def(
      "make_operator",
      [](const Config& config, const std::vector<int64_t>& input_shape) {
        return make_operator(config.task, input_shape).ptr();
      },
      py::arg("config"), py::arg("input_shape"));
  m.def(
      "python_operator",
      [](py::object op, const std::vector<int64_t>& input_shape,
         const std::vector<int64_t>& output_shape, const std::string& name) {
        return std::static_pointer_cast<Op>(std::make_shared<PythonOperatorImpl>(
            std::move(op), input_shape, output_shape, name));
      },
      py::arg("op"), py::arg("input_shape"), py::arg("output_shape"), py::arg("name"));
  m.def(
      "unknown_shape",
      [](const Config& config, int64_t data_channels, int64_t size) {
        return unknown_shape(config.task, data_channels, size);
      },
      py::arg("config"), py::arg("data_channels"), py::arg("size"));
  m.def("operator_registry", []() {
    py::list out;
    for (const auto& entry : operator_registry()) {
      out.append(py::make_tuple(entry.name, to_json(entry.task).dump(), entry.shapes,
                                entry.from_file));
    }
    return out;
  });
  m.def(
      "make_registry_operator",
      [](const std::string& name, const std::vector<int64_t>& input_shape) {
        for (const auto& entry : operator_registry()) {
          if (entry.name == name) return entry.make(input_shape).ptr();
        }
        throw InputError("no operator '" + name + "' in the registry");
      },
      py::arg("name"), py::arg("input_shape"));
}

}  // namespace wsd::python
