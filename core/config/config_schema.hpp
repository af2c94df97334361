#pragma once

#include <cmath>

// The one table per config struct. Each Schema<T>::fields() names every key exactly once with its
// member, doc string and validation rule; visitors (parser, validator, writer, key lister,
// equality) walk these tables, so no code elsewhere repeats per-field logic. Schema<T>::check()
// holds the rules that relate several fields of the same struct.
//
// Visitor protocol:
//   v.field(key, &T::member, doc [, rule])   a leaf value
//   v.section(key, &T::member, doc)          a nested struct with its own Schema

#include <string>
#include <string_view>

#include "core/config/config_rules.hpp"
#include "core/config/config_types.hpp"

namespace wsd {

template <class T>
struct Schema;

// "train" + "lr" -> "train.lr"; the root struct has an empty prefix.
inline std::string join_key(std::string_view prefix, std::string_view key) {
  if (prefix.empty()) return std::string(key);
  std::string joined(prefix);
  joined += '.';
  joined += key;
  return joined;
}

template <>
struct Schema<DataConfig> {
  using T = DataConfig;
  template <class V>
  static void fields(V& v) {
    using namespace rules;
    v.field("reader", &T::reader,
            "dataset format: idx (MNIST files), cifar10 (binary), folder (PNG/JPEG), hdf5");
    v.field("path", &T::path,
            "dataset directory (idx, cifar10, folder: <path>/<split> when present) or file "
            "(cifar10 .bin, hdf5: <path>/<split>.h5 for a directory)");
    v.field("split", &T::split, "which split to read");
    v.field("image_size", &T::image_size, "images are brought to this square size (px)",
            at_least(8));
    v.field("channels", &T::channels, "1 = grayscale, 3 = RGB (converted either way)",
            one_of({1, 3}));
    v.field("fit", &T::fit,
            "to image_size: center (pad with -1 / centre crop), resize (shorter side, then "
            "centre crop), random_crop, none (images must already have that size)");
    v.field("random_flip", &T::random_flip, "random horizontal flips (augmentation)");
    v.field("patch_size", &T::patch_size,
            "cut fixed random patches of this size from each image; 0 = whole images", at_least(0));
    v.field("patches_per_image", &T::patches_per_image, "patches cut from each image", at_least(1));
    v.field("patch_seed", &T::patch_seed, "seed of the patch positions (fixed per index)");
    v.field("hdf5_dataset", &T::hdf5_dataset,
            "hdf5: the image array (N x C x H x W or N x H x W x C)");
    v.field("hdf5_layout", &T::hdf5_layout, "hdf5: axis order of the image array");
    v.field("hdf5_labels", &T::hdf5_labels, "hdf5: optional integer label array; empty = none");
    v.field("float_range", &T::float_range,
            "float images: unit = values in [0, 1], symmetric = already in [-1, 1]");
    v.field("workers", &T::workers, "loader threads; 0 = load on the training thread (at most 256)",
            between(inclusive(0), inclusive(256)));
    v.field("prefetch", &T::prefetch, "batches prepared ahead of the training step", at_least(1));
    v.field("pin_memory", &T::pin_memory,
            "page-locked batches when training on CUDA (overlaps the host-to-device copy)");
    v.field("limit", &T::limit, "use only the first N samples; 0 = all", at_least(0));
    v.field("validation_images", &T::validation_images,
            "the last N images of the train split are never trained on: training's validation "
            "loss and eval's data-weight choice use them; 0 = hold none out",
            at_least(0));
    v.field("on_bad_sample", &T::on_bad_sample,
            "unreadable sample: stop with an error, or skip it (logged once per file, counted)");
  }
  static void check(const T& c, const rules::CrossCheck& out) {
    if (c.patches_per_image > 1 && c.patch_size == 0) {
      out.fail({"patches_per_image", "patch_size"},
               std::to_string(c.patches_per_image) + " needs " + out.key("patch_size") +
                   " > 0 (patches are cut only when a patch size is set)");
    }
    if (c.patch_size > 0 && c.patch_size < 8) {
      out.fail({"patch_size"},
               std::to_string(c.patch_size) + " is out of range (must be 0 or >= 8)");
    }
  }
};

template <>
struct Schema<NoiseConfig> {
  using T = NoiseConfig;
  template <class V>
  static void fields(V& v) {
    using namespace rules;
    v.field("family", &T::family,
            "white, grf (Gaussian random field), power_law, mixture (grf+white), measured "
            "(a spectrum fitted by `wsdiff noise fit`)");
    v.field("grf_sigma_min", &T::grf_sigma_min, "smallest GRF correlation length (px)", above(0));
    v.field("grf_sigma_max", &T::grf_sigma_max, "largest GRF correlation length (px)", above(0));
    v.field("grf_sampling", &T::grf_sampling, "how sigma is drawn between min and max");
    v.field("anisotropic", &T::anisotropic, "independent correlation lengths along the two axes");
    v.field("rotate", &T::rotate, "random orientation of anisotropic kernels");
    v.field("power_exponent", &T::power_exponent, "exponent a of the power-law spectrum 1/f^a",
            at_least(0));
    v.field("power_cutoff", &T::power_cutoff,
            "frequency f0 (cycles/px) below which the power law is flat", above(0));
    v.field("white_fraction", &T::white_fraction, "share of white noise in the mixture family",
            between(inclusive(0), inclusive(1)));
    v.field("spectrum_file", &T::spectrum_file,
            "measured family: the noise power spectrum file written by `wsdiff noise fit`");
    v.field("spectrum_white_fraction", &T::spectrum_white_fraction,
            "share of white noise mixed into the measured family (0 = the fitted spectrum alone)",
            between(inclusive(0), inclusive(1)));
    v.field("channel_mode", &T::channel_mode,
            "gray = one field for all channels, per_channel = independent");
    v.field("normalisation", &T::normalisation,
            "unit_variance = unit per-pixel variance, kernel_sum = kernel sums to 1");
  }
  static void check(const T& c, const rules::CrossCheck& out) {
    const bool kernel_family = c.family == NoiseFamily::kWhite || c.family == NoiseFamily::kGrf;
    if (c.normalisation == NoiseNormalisation::kKernelSum && !kernel_family) {
      out.fail({"normalisation", "family"}, "kernel_sum needs " + out.key("family") +
                                                " white or grf (a sampled spatial "
                                                "kernel), not " +
                                                std::string(enum_name(c.family)) +
                                                "; use unit_variance");
    }
    if (c.family == NoiseFamily::kMeasured && c.spectrum_file.empty()) {
      out.fail({"spectrum_file", "family"},
               "must name the file written by `wsdiff noise fit` when " + out.key("family") +
                   " is measured");
    }
    if (c.grf_sigma_min > c.grf_sigma_max) {
      out.fail({"grf_sigma_min", "grf_sigma_max"},
               format_value(c.grf_sigma_min) + " is greater than " + out.key("grf_sigma_max") +
                   " (" + format_value(c.grf_sigma_max) + ")");
    }
  }
};

template <>
struct Schema<ModelConfig> {
  using T = ModelConfig;
  template <class V>
  static void fields(V& v) {
    using namespace rules;
    v.field("type", &T::type, "ddpm_unet (the authors' network), gaussian (analytic, no network)");
    v.field("process", &T::process, "diffusion (VP SDE) or flow (interpolant)");
    v.field("parameterisation", &T::parameterisation,
            "network output: noise, whitened score (ws), or edm (preconditioned x0 estimate)");
    v.field("score_sign", &T::score_sign, "sign convention of the network output", one_of({-1, 1}));
    v.field("image_channels", &T::image_channels, "channels the network sees", one_of({1, 3}));
    v.field("image_size", &T::image_size, "side length the network sees (px)", at_least(8));
    v.field("n_channels", &T::n_channels, "base width",
            multiple_of(32, "GroupNorm uses 32 groups"));
    v.field("ch_mults", &T::ch_mults, "width multiplier per resolution level",
            non_empty_list(above(0)));
    v.field("is_attn", &T::is_attn, "self-attention per resolution level (one per ch_mults)");
    v.field("n_blocks", &T::n_blocks, "residual blocks per resolution level", at_least(1));
    v.field("dropout", &T::dropout, "dropout in residual blocks",
            between(inclusive(0), exclusive(1)));
    v.field("schedule", &T::schedule, "noise schedule: vp (linear beta) or cosine");
    v.field("beta_min", &T::beta_min, "VP schedule beta at t = 0", above(0));
    v.field("beta_max", &T::beta_max, "VP schedule beta at t = 1", above(0));
    v.field("t_eps", &T::t_eps, "smallest diffusion time; the score is singular at t = 0",
            between(exclusive(0), inclusive(0.1)));
    v.field("sigma_data", &T::sigma_data,
            "per-pixel data std in [-1, 1] units (edm parameterisation's scalings)", above(0));
  }
  static void check(const T& c, const rules::CrossCheck& out) {
    if (c.is_attn.size() != c.ch_mults.size()) {
      out.fail({"is_attn", "ch_mults"}, "has " + std::to_string(c.is_attn.size()) +
                                            " entries but " + out.key("ch_mults") + " has " +
                                            std::to_string(c.ch_mults.size()) +
                                            " (one attention flag per resolution level)");
    }
    if (c.beta_max <= c.beta_min) {
      out.fail({"beta_max", "beta_min"}, format_value(c.beta_max) + " must be greater than " +
                                             out.key("beta_min") + " (" + format_value(c.beta_min) +
                                             ")");
    }
    // Every level but the last halves the resolution, so the image must survive that many halvings.
    const std::size_t halvings = c.ch_mults.empty() ? 0 : c.ch_mults.size() - 1;
    if (c.type == ModelType::kDdpmUnet && halvings < 30 && c.image_size % (1 << halvings) != 0) {
      out.fail({"image_size", "ch_mults"}, std::to_string(c.image_size) + " is not divisible by " +
                                               std::to_string(1 << halvings) + ", which the " +
                                               std::to_string(c.ch_mults.size()) +
                                               " resolution levels of " + out.key("ch_mults") +
                                               " need");
    }
  }
};

template <>
struct Schema<TrainConfig> {
  using T = TrainConfig;
  template <class V>
  static void fields(V& v) {
    using namespace rules;
    v.field("steps", &T::steps, "optimizer steps; 0 = train.images governs", at_least(0));
    v.field("images", &T::images,
            "alternative run length: images seen over all ranks (rounded up to whole global "
            "batches); 0 = train.steps governs",
            at_least(0));
    v.field("batch_size", &T::batch_size, "images per micro-batch on each rank", above(0));
    v.field("grad_accum", &T::grad_accum, "micro-batches accumulated per optimizer step",
            at_least(1));
    v.field("optimizer", &T::optimizer, "adam or adamw (decoupled weight decay)");
    v.field("lr", &T::lr, "peak learning rate", above(0));
    v.field("weight_decay", &T::weight_decay, "weight decay", at_least(0));
    v.field("warmup_steps", &T::warmup_steps, "linear learning-rate warm-up", at_least(0));
    v.field("lr_schedule", &T::lr_schedule, "after warm-up: constant, or cosine decay to 0");
    v.field("ema_decay", &T::ema_decay, "decay of the weight EMA used for sampling",
            between(inclusive(0), exclusive(1)));
    v.field("loss_weighting", &T::loss_weighting,
            "uniform; noise_power or noise_amplitude: each frequency's error weighted by the "
            "training noise's mean power there, or by its square root (the same minimiser; more "
            "signal where structured noise is strongest); validation stays uniform");
    v.field("grad_clip", &T::grad_clip, "max global gradient norm; 0 = off", at_least(0));
    v.field("precision", &T::precision, "fp32, or bf16 autocast");
    v.field("channels_last", &T::channels_last, "NHWC memory format (faster convs on GPUs)");
    v.field("tf32", &T::tf32, "allow TF32 matmuls and convolutions on CUDA");
    v.field("cudnn_benchmark", &T::cudnn_benchmark,
            "let cuDNN time convolution algorithms on the first steps (CUDA)");
    v.field("seed", &T::seed, "seed for initialisation, data order and noise");
    v.field("device", &T::device, "auto = CUDA when available, else CPU");
    v.field("log_every", &T::log_every, "steps between log lines; 0 = never", at_least(0));
    v.field("validate_every", &T::validate_every, "steps between validations; 0 = never",
            at_least(0));
    v.field("sample_every", &T::sample_every, "steps between sample grids; 0 = never", at_least(0));
    v.field("checkpoint_every", &T::checkpoint_every, "steps between checkpoints; 0 = never",
            at_least(0));
    v.field("keep_last", &T::keep_last, "checkpoints kept on disk", at_least(1));
    v.field("max_skipped_steps", &T::max_skipped_steps,
            "consecutive non-finite steps tolerated before aborting", at_least(1));
    v.field("collective_timeout_s", &T::collective_timeout_s,
            "seconds before a stuck multi-GPU collective aborts", above(0));
    v.field("bucket_mb", &T::bucket_mb,
            "size of the gradient buckets reduced while backward runs (MB)", above(0));
    v.field("consistency_check_every", &T::consistency_check_every,
            "steps between checks that all ranks hold the same parameters; 0 = never", at_least(0));
    v.field("inject_nan_at_step", &T::inject_nan_at_step,
            "testing aid: make rank 0's loss NaN from this step (1-based); 0 = off", at_least(0));
    v.field("inject_nan_steps", &T::inject_nan_steps,
            "testing aid: number of consecutive steps inject_nan_at_step poisons", at_least(1));
  }
  static void check(const T& c, const rules::CrossCheck& out) {
    if ((c.steps > 0) == (c.images > 0)) {
      out.fail({"steps", "images"},
               c.steps > 0 ? "and " + out.key("images") +
                                 " are both set: exactly one sets the run length (set the other "
                                 "to 0)"
                           : "and " + out.key("images") +
                                 " are both 0: one of them must set the run length");
    }
  }
};

template <>
struct Schema<SamplerConfig> {
  using T = SamplerConfig;
  template <class V>
  static void fields(V& v) {
    using namespace rules;
    v.field("method", &T::method,
            "reverse-time integrator: euler (the paper's), heun, exponential (DDIM-like), "
            "dpm_solver_2m (second-order multistep), sde (stochastic)");
    // The same cap as `sample --steps`: a time grid of a billion steps is a typo, not a run.
    v.field("steps", &T::steps, "integration steps (1 to 100000)",
            between(inclusive(1), inclusive(100000)));
    v.field("time_grid", &T::time_grid,
            "spacing of the steps: uniform in t, log_snr (uniform in log(alpha/sigma)) or edm "
            "(rho-spacing of sigma/alpha, dense at low noise)");
    v.field("rho", &T::rho, "time_grid edm: the spacing exponent", above(0));
    v.field("likelihood", &T::likelihood,
            "data-consistency term: none (unconditional), ws, normalised_gradient, dps, proximal "
            "(exact "
            "Gaussian step with the task's noise model; needs method exponential)");
    v.field("lambda", &T::lambda,
            "data weight of the likelihood step (its meaning is the step's: docs/maths.md); auto "
            "= the step's natural weight (proximal: 1) or the discrepancy principle's choice",
            if_set(at_least(0)));
    v.field("lambda_schedule", &T::lambda_schedule, "how the weight evolves over time");
    v.field("proximal_x0", &T::proximal_x0,
            "likelihood proximal: go on from the data-consistent x_0 estimate (mean) or from a "
            "draw of the Gaussian surrogate's posterior around it (sample: exact for the "
            "Gaussian prior)");
    v.field("cg_tolerance", &T::cg_tolerance,
            "likelihood proximal, operators that are not Fourier-diagonal: relative residual at "
            "which the conjugate-gradient solve stops",
            above(0));
    v.field("cg_max_iterations", &T::cg_max_iterations,
            "likelihood proximal: the conjugate-gradient solve's iteration cap", at_least(1));
    v.field("batch_size", &T::batch_size, "images sampled in parallel", above(0));
    v.field("samples", &T::samples,
            "posterior samples per measurement; the reconstruction is their mean", above(0));
    v.field("seed", &T::seed, "seed for the initial noise and stochastic steps");
    v.field("use_ema", &T::use_ema, "sample with the EMA weights");
    v.field("clamp_x0", &T::clamp_x0,
            "safeguard: clamp the Tweedie estimate to [-1, 1] and recompute the score from it");
    v.field("cuda_graph", &T::cuda_graph,
            "posterior sampling on CUDA: replay each batch's whole trajectory as one CUDA graph "
            "(deterministic samplers; likelihood none, ws or normalised_gradient)");
  }
  static void check(const T& c, const rules::CrossCheck& out) {
    if (c.likelihood == LikelihoodType::kProximal && c.method != SamplerMethod::kExponential) {
      out.fail({"likelihood", "method"}, "proximal takes the exponential integrator's steps; set " +
                                             out.key("method") + " to exponential (it is " +
                                             std::string(enum_name(c.method)) + ")");
    }
  }
};

template <>
struct Schema<TaskConfig> {
  using T = TaskConfig;
  template <class V>
  static void fields(V& v) {
    using namespace rules;
    v.field("operator", &T::operator_name, "forward operator");
    v.field("blur_sigma", &T::blur_sigma, "gaussian_blur: std (px)", above(0));
    v.field("kernel_size", &T::kernel_size, "blur kernel side (px)", odd_at_least(1));
    v.field("boundary", &T::boundary, "convolution boundary: circular (periodic) or zero");
    v.field("motion_length", &T::motion_length, "motion_blur: length (px)", above(0));
    v.field("motion_angle_deg", &T::motion_angle_deg,
            "motion_blur: direction, degrees counter-clockwise from +x", finite());
    v.field("downsample_factor", &T::downsample_factor, "downsample: factor per axis", at_least(1));
    v.field("mask_fraction", &T::mask_fraction, "inpaint: fraction of pixels removed",
            between(inclusive(0), inclusive(1)));
    v.field("mask_kind", &T::mask_kind,
            "inpaint: random (pixels drawn with task.seed), box (one centred hole) or file "
            "(task.mask_file)");
    v.field("mask_file", &T::mask_file,
            "inpaint, mask_kind file: HDF5 (/mask [H, W]) or image file of weights in [0, 1]");
    v.field("psf_file", &T::psf_file,
            "psf: the measured point-spread function, HDF5 (/psf [S1, S2]) or image file");
    v.field("psf_centre", &T::psf_centre,
            "psf: where its origin is: center (pixel S/2 of each side, rounded down) or corner "
            "(pixel [0, 0], the FFT layout)");
    v.field("transfer_file", &T::transfer_file,
            "transfer_function: HDF5 with /transfer [H, W/2+1] (real) or [H, W/2+1, 2] (re, im) "
            "on the rfft2 grid");
    v.field("laplace_c", &T::laplace_c, "laplace: constant c of the operator", above(0));
    v.field("pixel_size", &T::pixel_size,
            "laplace, idt: object-plane pixel size (um); sets the frequency units", above(0));
    v.field("wavelength", &T::wavelength, "idt: illumination wavelength (um)", above(0));
    v.field("na", &T::na, "idt: objective numerical aperture", above(0));
    v.field("led_grid", &T::led_grid, "idt: LEDs per side of the illumination grid", at_least(1));
    v.field("led_na_spacing", &T::led_na_spacing,
            "idt: illumination NA between neighbouring LEDs; 0 = the corner LEDs at 0.9 NA",
            at_least(0));
    v.field("absorption", &T::absorption, "idt: reconstruct absorption as well as phase");
    v.field("noise_level", &T::noise_level, "measurement noise std (images in [-1, 1])",
            at_least(0));
    v.field("n_images", &T::n_images, "test images to reconstruct", above(0));
    v.field("seed", &T::seed, "seed for test images, masks and measurement noise");
    v.section("noise", &T::noise, "measurement noise family (same keys as the noise section)");
  }
  static void check(const T& c, const rules::CrossCheck& out) {
    const auto needs_file = [&](bool used, const char* key, const std::string& value,
                                const std::string& why) {
      if (used && value.empty()) out.fail({key}, "must name a file for " + why);
    };
    needs_file(c.operator_name == OperatorType::kPsf, "psf_file", c.psf_file, "operator psf");
    needs_file(c.operator_name == OperatorType::kTransferFunction, "transfer_file", c.transfer_file,
               "operator transfer_function");
    needs_file(c.operator_name == OperatorType::kInpaint && c.mask_kind == MaskKind::kFile,
               "mask_file", c.mask_file, "mask_kind file");
  }
};

template <>
struct Schema<EvalConfig> {
  using T = EvalConfig;
  template <class V>
  static void fields(V& v) {
    using namespace rules;
    v.field("methods", &T::methods, "reconstruction methods to compare",
            non_empty_list(Any{}, /*unique=*/true));
    v.field("n_images", &T::n_images, "test images per method (images range or random)", above(0));
    v.field("images", &T::images,
            "which test images: range (n_images from first_image), list (image_list), random "
            "(n_images drawn with image_seed)");
    v.field("first_image", &T::first_image, "images range: the first test image", at_least(0));
    v.field("image_list", &T::image_list, "images list: test image indices");
    v.field("image_seed", &T::image_seed, "images random: the seed of the draw");
    v.field("checkpoint", &T::checkpoint, "WS-prior checkpoint (method ws_prior)");
    v.field("conventional_checkpoint", &T::conventional_checkpoint,
            "checkpoint of the conventional (white-noise) prior (method conventional_prior)");
    v.field("measurements", &T::measurements,
            "a measurement file with its truth (wsdiff pack --truth, or simulate) to evaluate "
            "instead of simulating test images; its task replaces this config's");
    v.field("validation_measurements", &T::validation_measurements,
            "with measurements: the file the data weight is chosen on (eval.lambda_grid)");
    v.field("statistics_images", &T::statistics_images,
            "training images for the Gaussian prior's mean and power spectrum (a variance needs "
            "at least 2)",
            at_least(2));
    v.field("save_png", &T::save_png, "write reconstructions as PNG");
    v.field("lambda_grid", &T::lambda_grid,
            "data weights a prior method chooses from on validation measurements of the training "
            "split (never the test images); empty = sampler.lambda");
    v.field("validation_images", &T::validation_images,
            "training-split images that choose lambda from lambda_grid", above(0));
  }
  static void check(const T& c, const rules::CrossCheck& out) {
    if (c.images == ImageSelection::kList && c.image_list.empty()) {
      out.fail({"images", "image_list"},
               "images list needs test image indices in " + out.key("image_list"));
    }
    for (const auto index : c.image_list) {
      if (index < 0) {
        out.fail({"image_list"}, "holds " + std::to_string(index) + "; indices start at 0");
      }
    }
    for (const double lambda : c.lambda_grid) {
      if (!(lambda > 0.0) || !std::isfinite(lambda)) {
        out.fail({"lambda_grid"}, "holds " + format_value(lambda) +
                                      "; every candidate weight must be a positive number");
      }
    }
  }
};

template <>
struct Schema<RunConfig> {
  using T = RunConfig;
  template <class V>
  static void fields(V& v) {
    v.field("name", &T::name, "run name; empty = derived by the CLI");
    v.field("out_dir", &T::out_dir, "directory holding run directories");
    v.field("log_level", &T::log_level, "least severe log level printed");
  }
  static void check(const T& /*c*/, const rules::CrossCheck& /*out*/) {}
};

template <>
struct Schema<Config> {
  using T = Config;
  template <class V>
  static void fields(V& v) {
    v.section("data", &T::data, "Training / evaluation images.");
    v.section("noise", &T::noise, "Structured noise whose covariance whitens the score.");
    v.section("model", &T::model, "Score network and forward process.");
    v.section("train", &T::train, "Optimisation and bookkeeping.");
    v.section("sampler", &T::sampler, "Reverse-process sampling and data consistency.");
    v.section("task", &T::task, "Inverse problem: forward operator and measurement noise.");
    v.section("eval", &T::eval, "Comparison of reconstruction methods.");
    v.section("run", &T::run, "Run naming and logging.");
  }
  // The data pipeline feeds the network directly, so shapes must agree.
  static void check(const T& c, const rules::CrossCheck& out) {
    if (c.model.image_channels != c.data.channels) {
      out.fail({"model.image_channels", "data.channels"},
               std::to_string(c.model.image_channels) + " does not match data.channels (" +
                   std::to_string(c.data.channels) + ")");
    }
    if (c.model.image_size != c.data.image_size) {
      out.fail({"model.image_size", "data.image_size"},
               std::to_string(c.model.image_size) + " does not match data.image_size (" +
                   std::to_string(c.data.image_size) + ")");
    }
  }
};

}  // namespace wsd
