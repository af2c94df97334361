// Errors, configs, metrics and logging.
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include "core/config/config_error.hpp"
#include "core/config/config_loader.hpp"
#include "core/config/config_writer.hpp"
#include "core/util/errors.hpp"
#include "core/util/logging.hpp"
#include "infer/metrics/psnr.hpp"
#include "infer/metrics/ssim.hpp"
#include "infer/samplers/sampler.hpp"
#include "python/bindings/bindings.hpp"

namespace wsd::python {
namespace {

// A YAML scalar as the value it spells: YAML 1.2 core-schema integers, floats, booleans, null.
nlohmann::json scalar_of(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: a string whatever it spells
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (text == "true") return true;
  if (text == "false") return false;
  try {
    size_t used = 0;
    const long long i = std::stoll(text, &used);
    if (used == text.size()) return i;
    const double d = std::stod(text, &used);
    if (used == text.size()) return d;
  } catch (const std::exception&) {
  }
  return text;
}

nlohmann::json json_of(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = json_of(item.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(json_of(item));
      return out;
    }
    case YAML::NodeType::Scalar:
      return scalar_of(node);
    default:
      return nullptr;
  }
}

}  // namespace

void bind_errors(py::module_& m) {
  // Bad input is the caller's to fix, as the CLI's exit code 2 says: ValueError with the CLI's
  // message. A diverged trajectory is a failure of the setting, not of the input.
  py::register_exception<DivergenceError>(m, "DivergenceError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ConfigError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
}

void bind_config(py::module_& m) {
  py::class_<Config>(m, "Config", "A resolved, validated wsdiff config (all sections)")
      .def("to_yaml", [](const Config& c) { return to_yaml(c); })
      .def("to_json", [](const Config& c) { return json_of(YAML::Load(to_yaml(c))).dump(); });

  m.def("default_config", &default_config);
  m.def("load_config", &load_config, py::arg("path"), py::arg("overrides"),
        "A YAML file ('' for the defaults) with 'section.key=value' overrides, validated");
  m.def("parse_config", &parse_config, py::arg("yaml"), py::arg("source_name"),
        py::arg("overrides"));
  m.def("layer_config", &layer_config, py::arg("stored"), py::arg("stored_name"),
        py::arg("config_path"), py::arg("overrides"));

  m.def(
      "psnr",
      [](const torch::Tensor& estimate, const torch::Tensor& reference) {
        return psnr(estimate, reference);
      },
      py::arg("estimate"), py::arg("reference"));
  m.def(
      "ssim",
      [](const torch::Tensor& estimate, const torch::Tensor& reference) {
        return ssim(estimate, reference);
      },
      py::arg("estimate"), py::arg("reference"));
  m.def(
      "set_log_level", [](const std::string& level) { init_logging({level, 0, 1}); },
      py::arg("level"));
}

}  // namespace wsd::python
