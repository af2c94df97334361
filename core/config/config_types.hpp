#pragma once

// Typed configuration for every wsdiff component. Defaults live here, next to the members, so a
// default-constructed Config is a complete, valid configuration (a small Fashion-MNIST run).
// Keys, validation rules and docs live in config_schema.hpp; nothing else lists the members.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config/config_enums.hpp"

namespace wsd {

// Section `data`: where training/evaluation images come from. Every reader delivers images in
// [-1, 1], the units of every noise level in a config.
struct DataConfig {
  DataReader reader = DataReader::kIdx;
  std::string path = "/usr/share/datasets/fashion-mnist";
  DataSplit split = DataSplit::kTrain;
  int image_size = 32;
  int channels = 1;
  DataFit fit = DataFit::kCenter;
  bool random_flip = false;
  int patch_size = 0;  // 0 = whole images.
  int patches_per_image = 1;
  std::uint64_t patch_seed = 0;
  std::string hdf5_dataset = "/images";
  Hdf5Layout hdf5_layout = Hdf5Layout::kAuto;
  std::string hdf5_labels;  // Empty = no labels.
  FloatRange float_range = FloatRange::kUnit;
  int workers = 2;
  int prefetch = 4;
  bool pin_memory = true;
  std::int64_t limit = 0;  // 0 = use every sample.
  // The last images of the train split, held out of training: the validation split. 0 by
  // default, so that a config stored before the key existed says truthfully that nothing was
  // held out, and small folders train as they are; the shipped configs set it.
  std::int64_t validation_images = 0;
  BadSamplePolicy on_bad_sample = BadSamplePolicy::kError;
};

// Section `noise` (and `task.noise`): the structured noise family whose covariance whitens the
// score. Lengths are in pixels, frequencies in cycles per pixel.
struct NoiseConfig {
  NoiseFamily family = NoiseFamily::kGrf;
  double grf_sigma_min = 1.0;
  double grf_sigma_max = 4.0;
  GrfSampling grf_sampling = GrfSampling::kLogUniform;
  bool anisotropic = false;
  bool rotate = false;
  double power_exponent = 2.0;
  double power_cutoff = 0.05;  // Cycles per pixel.
  double white_fraction = 0.1;
  // Family `measured`: a power spectrum fitted by `wsdiff noise fit` (an HDF5 file), and the
  // share of white noise mixed into it. Its own share, default 0, because the fitted spectrum
  // already is the whole measurement noise; white_fraction's default is the mixture prior's.
  std::string spectrum_file;
  double spectrum_white_fraction = 0.0;
  ChannelMode channel_mode = ChannelMode::kGray;
  NoiseNormalisation normalisation = NoiseNormalisation::kUnitVariance;

  // Measurement noise defaults to white: most inverse-problem benchmarks assume i.i.d. noise.
  static NoiseConfig white() {
    NoiseConfig noise;
    noise.family = NoiseFamily::kWhite;
    return noise;
  }
};

// Section `model`: the score network and the forward process it is trained for.
struct ModelConfig {
  ModelType type = ModelType::kDdpmUnet;
  ProcessType process = ProcessType::kDiffusion;
  Parameterisation parameterisation = Parameterisation::kWs;
  int score_sign = 1;
  int image_channels = 1;
  int image_size = 32;
  int n_channels = 32;
  std::vector<int> ch_mults = {1, 2, 2};
  std::vector<bool> is_attn = {false, false, true};
  int n_blocks = 2;
  double dropout = 0.1;
  NoiseSchedule schedule = NoiseSchedule::kVp;
  double beta_min = 0.1;
  double beta_max = 20.0;
  double t_eps = 1e-3;
  // Per-pixel standard deviation of the data, used only by the `edm` parameterisation's
  // input/skip/output scalings.
  double sigma_data = 0.5;
};

// Section `train`: optimisation, precision and bookkeeping of a training run.
struct TrainConfig {
  // Run length: exactly one of steps and images is non-zero.
  std::int64_t steps = 2000;
  std::int64_t images = 0;  // Images seen over all ranks; 0 = steps governs.
  int batch_size = 64;      // Per rank and micro-batch.
  int grad_accum = 1;
  OptimizerType optimizer = OptimizerType::kAdam;
  double lr = 2e-4;
  double weight_decay = 0.0;
  std::int64_t warmup_steps = 0;
  LrSchedule lr_schedule = LrSchedule::kConstant;
  double ema_decay = 0.999;
  // How the training loss weighs the error across frequencies (docs/maths.md, "Loss weighting
  // across frequencies"); validation always reports the uniform loss.
  LossWeighting loss_weighting = LossWeighting::kUniform;
  double grad_clip = 1.0;  // 0 = off.
  Precision precision = Precision::kFp32;
  bool channels_last = false;
  bool tf32 = true;
  bool cudnn_benchmark = false;
  std::uint64_t seed = 0;
  DeviceKind device = DeviceKind::kAuto;
  std::int64_t log_every = 50;  // The *_every intervals: 0 = never.
  std::int64_t validate_every = 500;
  std::int64_t sample_every = 1000;
  std::int64_t checkpoint_every = 1000;
  int keep_last = 3;
  int max_skipped_steps = 10;
  double collective_timeout_s = 600.0;
  double bucket_mb = 25.0;
  std::int64_t consistency_check_every = 1000;
  // Testing aids: a NaN loss on rank 0 at steps [inject_nan_at_step, + inject_nan_steps).
  std::int64_t inject_nan_at_step = 0;  // 1-based; 0 = off.
  int inject_nan_steps = 1;
};

// Section `sampler`: reverse-process integration and the data-consistency term.
struct SamplerConfig {
  SamplerMethod method = SamplerMethod::kEuler;
  int steps = 1000;
  TimeGrid time_grid = TimeGrid::kUniform;
  double rho = 7.0;  // time_grid edm only
  LikelihoodType likelihood = LikelihoodType::kNone;
  // The data weight: its meaning is the likelihood step's own (LikelihoodKind::weight_meaning).
  // nullopt is `auto`: the step's natural weight, or the discrepancy principle's choice.
  std::optional<double> lambda = 1.0;
  LambdaSchedule lambda_schedule = LambdaSchedule::kConstant;
  // likelihood proximal: each step goes on from the data-consistent x_0 estimate itself (mean),
  // or from a draw of the surrogate's posterior around it (sample; exact for the Gaussian prior,
  // far too wide for a trained one). infer/likelihood/proximal_step.hpp says why.
  ProximalX0 proximal_x0 = ProximalX0::kMean;
  // likelihood proximal with an operator that is not Fourier-diagonal: the conjugate-gradient
  // solve stops at this relative residual of its (whitened) normal equations, or at the cap.
  double cg_tolerance = 1e-4;
  int cg_max_iterations = 500;
  int batch_size = 16;
  // Posterior samples averaged per measurement: one sample sits ~3 dB (twice the MSE) below the
  // posterior mean even for an exact sampler; the mean of M samples closes that to 1 + 1/M.
  int samples = 1;
  std::uint64_t seed = 0;
  bool use_ema = true;
  // Safeguard: clamp the prior's Tweedie estimate to [-1, 1] and recompute the whitened score
  // from it at every evaluation. Off by default; results with it are reported separately.
  bool clamp_x0 = false;
  // Record each batch's whole reverse trajectory once as a CUDA graph and replay it for every
  // later batch of the same shape (infer/solve/graphed_trajectory.hpp). CUDA only; off by default.
  bool cuda_graph = false;
};

// Section `task`: the inverse problem (forward operator + measurement noise).
struct TaskConfig {
  OperatorType operator_name = OperatorType::kGaussianBlur;
  double blur_sigma = 2.0;
  int kernel_size = 13;
  Boundary boundary = Boundary::kCircular;
  double motion_length = 9.0;
  double motion_angle_deg = 0.0;
  int downsample_factor = 2;
  double mask_fraction = 0.5;
  MaskKind mask_kind = MaskKind::kRandom;
  // Operators from files (operators/operator_files.hpp says what each file may hold).
  std::string mask_file;  // inpaint, mask_kind file
  std::string psf_file;   // psf
  PsfCentre psf_centre = PsfCentre::kCenter;
  std::string transfer_file;  // transfer_function
  double laplace_c = 1.0;
  double pixel_size = 0.325;  // Micrometres; laplace and idt.
  double wavelength = 0.515;  // Micrometres; idt only, like na, led_grid, led_na_spacing.
  double na = 0.4;
  int led_grid = 5;
  double led_na_spacing = 0.0;  // Illumination NA between neighbouring LEDs; 0 = automatic.
  bool absorption = false;
  double noise_level = 0.05;  // Std of the measurement noise for images in [-1, 1].
  int n_images = 8;
  std::uint64_t seed = 0;
  NoiseConfig noise = NoiseConfig::white();
};

// Section `eval`: which reconstruction methods to compare and on what.
struct EvalConfig {
  std::vector<EvalMethod> methods = {EvalMethod::kWsPrior, EvalMethod::kGaussianPrior,
                                     EvalMethod::kWiener};
  int n_images = 8;
  // Which test images are measured: `range`, n_images from first_image on; `list`, the test
  // images of image_list (their count, not n_images); `random`, n_images distinct test images
  // drawn with image_seed. Results record which images they are.
  ImageSelection images = ImageSelection::kRange;
  std::int64_t first_image = 0;
  std::vector<std::int64_t> image_list;
  std::uint64_t image_seed = 0;
  std::string checkpoint;
  std::string conventional_checkpoint;
  // Measurement files (simulate or pack, with their truth) to evaluate instead of simulating
  // from the test split; the data weight is then chosen on validation_measurements.
  std::string measurements;
  std::string validation_measurements;
  // Training images the Gaussian prior's mean and power spectrum are estimated from (the
  // Gaussian-prior, Wiener and Tikhonov methods).
  std::int64_t statistics_images = 10000;
  bool save_png = true;
  // Data weights to choose from per prior method, by mean PSNR on `validation_images`
  // measurements simulated from the end of the training split; empty = sampler.lambda as given.
  std::vector<double> lambda_grid;
  int validation_images = 16;
};

// Section `run`: naming and logging of the run directory.
struct RunConfig {
  std::string name;  // Empty = let the CLI derive one.
  std::string out_dir = "runs";
  LogLevel log_level = LogLevel::kInfo;
};

struct Config {
  DataConfig data;
  NoiseConfig noise;
  ModelConfig model;
  TrainConfig train;
  SamplerConfig sampler;
  TaskConfig task;
  EvalConfig eval;
  RunConfig run;
};

// Member-wise equality, generated from the schema tables (config_types.cpp) so it cannot miss a
// field that was added later.
bool operator==(const DataConfig& a, const DataConfig& b);
bool operator==(const NoiseConfig& a, const NoiseConfig& b);
bool operator==(const ModelConfig& a, const ModelConfig& b);
bool operator==(const TrainConfig& a, const TrainConfig& b);
bool operator==(const SamplerConfig& a, const SamplerConfig& b);
bool operator==(const TaskConfig& a, const TaskConfig& b);
bool operator==(const EvalConfig& a, const EvalConfig& b);
bool operator==(const RunConfig& a, const RunConfig& b);
bool operator==(const Config& a, const Config& b);

inline bool operator!=(const DataConfig& a, const DataConfig& b) { return !(a == b); }
inline bool operator!=(const NoiseConfig& a, const NoiseConfig& b) { return !(a == b); }
inline bool operator!=(const ModelConfig& a, const ModelConfig& b) { return !(a == b); }
inline bool operator!=(const TrainConfig& a, const TrainConfig& b) { return !(a == b); }
inline bool operator!=(const SamplerConfig& a, const SamplerConfig& b) { return !(a == b); }
inline bool operator!=(const TaskConfig& a, const TaskConfig& b) { return !(a == b); }
inline bool operator!=(const EvalConfig& a, const EvalConfig& b) { return !(a == b); }
inline bool operator!=(const RunConfig& a, const RunConfig& b) { return !(a == b); }
inline bool operator!=(const Config& a, const Config& b) { return !(a == b); }

}  // namespace wsd
