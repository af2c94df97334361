// Priors as checkpoints hold them, their schedule and their structured noise.
#include <nlohmann/json.hpp>

#include <memory>

#include "core/checkpoint/checkpoint.hpp"
#include "core/checkpoint/prior_safetensors.hpp"
#include "core/config/config_enums.hpp"
#include "core/config/config_json.hpp"
#include "core/config/config_loader.hpp"
#include "core/model/prior_loader.hpp"
#include "core/noise/structured_noise.hpp"
#include "core/util/errors.hpp"
#include "operators/measurement_noise.hpp"
#include "python/bindings/bindings.hpp"
#include "python/bindings/loaded_prior.hpp"

namespace wsd::python {
namespace {

// t as the prior takes it: float64 [N] on x's device, from a number or a tensor.
torch::Tensor times_for(const torch::Tensor& x, const py::object& t) {
  torch::Tensor times = py::isinstance<py::float_>(t) || py::isinstance<py::int_>(t)
                            ? torch::full({x.size(0)}, t.cast<double>(), torch::kFloat64)
                            : t.cast<torch::Tensor>();
  times = times.to(x.device(), torch::kFloat64);
  if (times.dim() == 0) times = times.expand({x.size(0)});
  return times;
}

nlohmann::ordered_json provenance_of(const std::string& json) {
  return json.empty() ? nlohmann::ordered_json(nullptr)
                      : nlohmann::ordered_json::parse(json, nullptr, false);
}

// A prior's method on x_t at t, without autograd and without the GIL.
template <torch::Tensor (Prior::*Method)(const torch::Tensor&, const torch::Tensor&)>
torch::Tensor evaluate(LoadedPrior& p, const torch::Tensor& x_t, const py::object& t) {
  const auto times = times_for(x_t, t);
  py::gil_scoped_release release;
  torch::NoGradGuard no_grad;
  return ((*p.prior).*Method)(x_t.to(p.device), times.to(p.device));
}

// The model card facts of a checkpoint file, with its checksums verified.
std::string card_of_checkpoint(const std::string& path) {
  const CheckpointSummary s = inspect_checkpoint(path);
  nlohmann::ordered_json card;
  card["path"] = path;
  card["format"] = "wsdiff-checkpoint";
  card["format_version"] = s.format_version;
  card["wsdiff_version"] = s.wsdiff_version;
  card["created"] = s.created;
  card["type"] = std::string(enum_name(s.model_info.type));
  card["parameterisation"] = s.model_info.parameterisation_name();
  card["score_sign"] = s.model_info.score_sign;
  card["parameters"] = s.parameter_count;
  card["has_ema"] = s.has_ema;
  card["train_step"] = s.state.step;
  card["images_seen"] = s.state.images_seen;
  card["checksums_verified"] = s.checksums_verified;
  card["provenance"] = provenance_of(s.provenance_json);
  return card.dump();
}

// The same facts from a safetensors prior's metadata.
std::string card_of_safetensors(const std::string& path, const Checkpoint& prior) {
  int64_t parameters = 0;
  for (const auto& [name, tensor] : prior.model) parameters += tensor.numel();
  nlohmann::ordered_json card;
  card["path"] = path;
  card["format"] = kPriorSafetensorsFormat;
  card["format_version"] = kPriorSafetensorsFormatVersion;
  card["type"] = std::string(enum_name(prior.model_info.type));
  card["parameterisation"] = prior.model_info.parameterisation_name();
  card["score_sign"] = prior.model_info.score_sign;
  card["parameters"] = parameters;
  card["train_step"] = prior.state.step;
  card["images_seen"] = prior.state.images_seen;
  card["provenance"] = provenance_of(prior.provenance_json);
  return card.dump();
}

bool is_safetensors(const std::string& path) {
  const std::string suffix = ".safetensors";
  return path.size() >= suffix.size() &&
         path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

LoadedPrior::LoadedPrior(const std::string& path, const std::string& device_name, bool use_ema)
    : path(path), device(device_of(device_name)) {
  Checkpoint checkpoint;
  if (is_safetensors(path)) {
    SafetensorsPrior file = load_prior_safetensors(path);
    if (!file.has_wsdiff_metadata) {
      throw InputError("'" + path +
                       "' holds weights without wsdiff's metadata (config, parameterisation): "
                       "make a checkpoint of it with wsdiff import --from it and a config");
    }
    checkpoint = std::move(file.prior);
    checkpoint.model = std::move(file.weights);
    card_json = card_of_safetensors(path, checkpoint);
  } else {
    checkpoint = load_checkpoint(path);
  }
  config = parse_config(checkpoint.config_yaml, path + " (embedded config)");
  torch::NoGradGuard no_grad;
  prior = load_prior(checkpoint, path, use_ema, device);
}

std::vector<int64_t> LoadedPrior::image_shape() const {
  return {config.model.image_channels, config.model.image_size, config.model.image_size};
}

void bind_prior(py::module_& m) {
  py::class_<StructuredNoise>(m, "StructuredNoise", "A structured Gaussian noise family n = K e")
      .def(py::init([](const Config& config, bool task) {
             return task ? MeasurementNoise::from_config(config.task).noise()
                         : StructuredNoise(config.noise);
           }),
           py::arg("config"), py::arg("task") = false,
           "The config's `noise` section (task=False) or its `task.noise` section")
      .def(
          "sample",
          [](const StructuredNoise& noise, const std::vector<uint64_t>& seeds,
             const std::vector<int64_t>& shape, const std::string& device) {
            if (shape.size() != 3) throw InputError("shape must be [C, H, W]");
            py::gil_scoped_release release;
            return noise.sample_per_image(seeds, shape[0], shape[1], shape[2], device_of(device));
          },
          py::arg("seeds"), py::arg("shape"), py::arg("device") = "cpu")
      .def(
          "psd",
          [](const StructuredNoise& noise, int64_t h, int64_t w) {
            py::gil_scoped_release release;
            return noise.psd(h, w);
          },
          py::arg("height"), py::arg("width"))
      .def_property_readonly("family",
                             [](const StructuredNoise& n) {
                               return std::string(enum_name(n.config().family));
                             })
      .def("to_json", [](const StructuredNoise& n) { return to_json(n.config()).dump(); });

  py::class_<LoadedPrior, std::shared_ptr<LoadedPrior>>(m, "Prior")
      .def(py::init<const std::string&, const std::string&, bool>(), py::arg("path"),
           py::arg("device") = "cpu", py::arg("use_ema") = true)
      .def("whitened_score", evaluate<&Prior::whitened_score>, py::arg("x_t"), py::arg("t"))
      .def("x0_estimate", evaluate<&Prior::x0_estimate>, py::arg("x_t"), py::arg("t"))
      .def("alpha", [](const LoadedPrior& p, double t) { return p.prior->schedule().alpha(t); })
      .def("sigma", [](const LoadedPrior& p, double t) { return p.prior->schedule().sigma(t); })
      .def("beta", [](const LoadedPrior& p, double t) { return p.prior->schedule().beta(t); })
      .def_property_readonly("t_eps", [](const LoadedPrior& p) { return p.prior->t_eps(); })
      .def_property_readonly("noise",
                             [](const LoadedPrior& p) { return p.prior->noise(); })
      .def_property_readonly("description",
                             [](const LoadedPrior& p) { return p.prior->describe(); })
      .def_property_readonly("schedule",
                             [](const LoadedPrior& p) { return p.prior->schedule().name(); })
      .def_property_readonly("image_shape", &LoadedPrior::image_shape)
      .def_readonly("path", &LoadedPrior::path)
      .def_readonly("config", &LoadedPrior::config)
      .def_property_readonly("device", [](const LoadedPrior& p) { return p.device.str(); })
      // A checkpoint's card reads the file again (inspect_checkpoint): only when asked for.
      .def_property_readonly("card_json", [](const LoadedPrior& p) {
        return p.card_json.empty() ? card_of_checkpoint(p.path) : p.card_json;
      });
}

}  // namespace wsd::python
