// Measurements, unconditional sampling, posterior solves and the classical baselines.
#include <torch/torch.h>

#include <memory>
#include <optional>

#include "core/config/config_enums.hpp"
#include "core/util/errors.hpp"
#include "infer/eval/measurement_set.hpp"
#include "infer/eval/reconstruction.hpp"
#include "infer/samplers/trajectory.hpp"
#include "operators/measurement_noise.hpp"
#include "python/bindings/bindings.hpp"
#include "python/bindings/loaded_prior.hpp"

namespace wsd::python {
namespace {

// A Python callable that C++ may copy and call without holding the GIL: copies share one
// reference, taken and dropped under the GIL. Every call, with or without a callable, first lets
// Python handle pending signals, so Ctrl-C ends a long solve at its next batch (or sampling step)
// with KeyboardInterrupt instead of after the whole run.
class Callback {
 public:
  explicit Callback(const py::object& f)
      : f_(f.is_none() ? nullptr
                       : std::shared_ptr<py::object>(new py::object(f), [](py::object* p) {
                           py::gil_scoped_acquire gil;
                           delete p;
                         })) {}
  template <class... Args>
  void operator()(Args... args) const {
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    if (f_) (*f_)(args...);
  }

 private:
  std::shared_ptr<py::object> f_;
};

// progress(done, total) after every batch of a solve (and a look at pending signals).
ProgressFn batch_progress(const py::object& progress) {
  const Callback callback(progress);
  return [callback](const std::string&, int64_t done, int64_t total) { callback(done, total); };
}

std::optional<LinearOperator> optional_operator(const std::shared_ptr<LinearOperatorImpl>& op) {
  if (!op) return std::nullopt;
  return LinearOperator(op);
}

py::object optional_tensor(const torch::Tensor& t) {
  return t.defined() ? py::cast(t) : py::none();
}

py::dict reconstruction_dict(const Reconstruction& r) {
  py::dict out;
  out["x_hat"] = r.x_hat;
  out["method"] = std::string(enum_name(r.method));
  out["seconds"] = r.seconds;
  out["steps"] = r.steps;
  out["lambda"] = r.lambda ? py::cast(*r.lambda) : py::none();
  out["lambda_auto"] = r.lambda_search.has_value();
  out["prior"] = r.prior;
  return out;
}

MeasurementSet make_measurements(const Config& config, const torch::Tensor& y,
                                 const std::optional<torch::Tensor>& x_true,
                                 const std::optional<std::vector<uint64_t>>& seeds) {
  if (y.dim() != 4) {
    throw InputError("measurements y must be [N, C, H, W], got " + std::to_string(y.dim()) +
                     " dimensions");
  }
  MeasurementSet set;
  set.config = config;
  set.y = y.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  if (!torch::isfinite(set.y).all().item<bool>()) {
    throw InputError("measurements y hold NaN or infinite values");
  }
  const int64_t n = set.y.size(0);
  if (x_true) {
    set.x_true = x_true->detach().to(torch::kCPU, torch::kFloat32).contiguous();
    if (set.x_true.dim() != 4 || set.x_true.size(0) != n) {
      throw InputError("x_true must be [N, C, H, W] with the N = " + std::to_string(n) +
                       " of y");
    }
  }
  if (seeds) {
    if (static_cast<int64_t>(seeds->size()) != n) {
      throw InputError("seeds: one per measurement needed (" + std::to_string(n) + "), got " +
                       std::to_string(seeds->size()));
    }
    set.seeds = *seeds;
  } else {
    set.seeds = measurement_seeds(config.task.seed, 0, n);
  }
  return set;
}

}  // namespace

void bind_solve(py::module_& m) {
  py::class_<MeasurementSet>(m, "MeasurementSet")
      .def_readonly("y", &MeasurementSet::y)
      .def_property_readonly("x_true",
                             [](const MeasurementSet& s) { return optional_tensor(s.x_true); })
      .def_readonly("seeds", &MeasurementSet::seeds)
      .def_readonly("image_indices", &MeasurementSet::image_indices)
      .def_readonly("config", &MeasurementSet::config)
      .def_property_readonly("image_shape", &MeasurementSet::image_shape)
      .def("__len__", &MeasurementSet::size)
      .def(
          "write",
          [](const MeasurementSet& s, const std::string& path) { write_measurements(s, path); },
          py::arg("path"), py::call_guard<py::gil_scoped_release>());

  m.def("make_measurements", &make_measurements, py::arg("config"), py::arg("y"),
        py::arg("x_true") = std::nullopt, py::arg("seeds") = std::nullopt);
  m.def("read_measurements", &read_measurements, py::arg("path"),
        py::call_guard<py::gil_scoped_release>());
  m.def(
      "simulate",
      [](const Config& config, int64_t n, bool validation, const std::string& device) {
        const auto d = device_of(device);
        return validation ? simulate_validation_measurements(config, n, d)
                          : simulate_measurements(config, n, d);
      },
      py::arg("config"), py::arg("n"), py::arg("validation") = false, py::arg("device") = "cpu",
      py::call_guard<py::gil_scoped_release>());
  m.def("measurement_seeds", &measurement_seeds, py::arg("base"), py::arg("first"), py::arg("n"));
  m.def(
      "measure",
      [](const std::shared_ptr<LinearOperatorImpl>& op, const torch::Tensor& x,
         const Config& config, const std::vector<uint64_t>& seeds) {
        if (x.dim() < 1 || static_cast<int64_t>(seeds.size()) != x.size(0)) {
          throw InputError("measure: one seed per image of x needed");
        }
        py::gil_scoped_release release;
        torch::NoGradGuard no_grad;
        return measure(*op, x, MeasurementNoise::from_config(config.task), seeds);
      },
      py::arg("op"), py::arg("x"), py::arg("config"), py::arg("seeds"));

  m.def(
      "sample",
      [](LoadedPrior& p, const Config& config, int64_t n, uint64_t first_seed,
         const py::object& progress) {
        if (n < 1) throw InputError("n must be at least 1, got " + std::to_string(n));
        const Callback callback(progress);
        const SampleProgress on_step = [callback](int64_t batch, int64_t batches, int64_t step,
                                                  int64_t steps) {
          callback(batch, batches, step, steps);
        };
        const std::string setting = "unconditional sampling from '" + p.path + "', " +
                                    std::to_string(config.sampler.steps) + " " +
                                    std::string(enum_name(config.sampler.method)) + " steps";
        py::gil_scoped_release release;
        c10::InferenceMode inference;
        return sample_prior(*p.prior, config.sampler, p.image_shape(), n, first_seed, p.device,
                            setting, on_step);
      },
      py::arg("prior"), py::arg("config"), py::arg("n"), py::arg("seed"),
      py::arg("progress") = py::none());

  m.def(
      "solve",
      [](LoadedPrior& p, const MeasurementSet& set, const Config& config,
         const std::shared_ptr<LinearOperatorImpl>& op, const py::object& progress) {
        const ProgressFn on_batch = batch_progress(progress);
        const auto given = optional_operator(op);
        py::gil_scoped_release release;
        Reconstructor reconstructor(config, p.device, on_batch);
        const Reconstruction r = reconstructor.run_prior(*p.prior, set, config.sampler, given);
        py::gil_scoped_acquire gil;
        return reconstruction_dict(r);
      },
      py::arg("prior"), py::arg("measurements"), py::arg("config"), py::arg("op") = nullptr,
      py::arg("progress") = py::none());

  m.def(
      "reconstruct",
      [](const std::string& method, const MeasurementSet& set, const Config& config,
         const std::string& device, const std::shared_ptr<LinearOperatorImpl>& op,
         const py::object& progress) {
        const auto kind = parse_enum<EvalMethod>(method);
        if (!kind) {
          throw InputError("unknown method '" + method +
                           "': ws_prior, conventional_prior, gaussian_prior, wiener or tikhonov");
        }
        const ProgressFn on_batch = batch_progress(progress);
        const auto given = optional_operator(op);
        py::gil_scoped_release release;
        Reconstructor reconstructor(config, device_of(device), on_batch);
        const Reconstruction r = reconstructor.run(*kind, set, config.sampler, given);
        py::gil_scoped_acquire gil;
        return reconstruction_dict(r);
      },
      py::arg("method"), py::arg("measurements"), py::arg("config"), py::arg("device") = "cpu",
      py::arg("op") = nullptr, py::arg("progress") = py::none());

  m.def(
      "data_statistics",
      [](const Config& config) {
        py::gil_scoped_release release;
        Reconstructor reconstructor(config, torch::kCPU);
        const GaussianStatistics& s = reconstructor.statistics();
        return std::make_tuple(s.mean, s.power_spectrum, s.count);
      },
      py::arg("config"),
      "The Gaussian statistics (mean [C, H, W], power spectrum on the rfft2 half grid, image "
      "count) of the config's training data that the proximal step and the baselines use");
}

}  // namespace wsd::python
