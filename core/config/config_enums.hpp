#pragma once

// Enumerations used by the config structs, each with exactly one table of its YAML spellings.
// The tables drive parsing, writing and error messages, so adding an enumerator means adding one
// line here and nothing else in the config module.

#include <array>
#include <optional>
#include <ostream>
#include <string_view>
#include <type_traits>

namespace wsd {

enum class DataReader { kIdx, kCifar10, kFolder, kHdf5 };
enum class DataSplit { kTrain, kTest };
enum class BadSamplePolicy { kError, kSkip };
enum class DataFit { kCenter, kResize, kRandomCrop, kNone };
enum class Hdf5Layout { kAuto, kNchw, kNhwc };
enum class FloatRange { kUnit, kSymmetric };

enum class NoiseFamily { kWhite, kGrf, kPowerLaw, kMixture, kMeasured };
enum class GrfSampling { kUniform, kLogUniform };
enum class ChannelMode { kGray, kPerChannel };
enum class NoiseNormalisation { kUnitVariance, kKernelSum };

enum class ModelType { kDdpmUnet, kGaussian };
enum class ProcessType { kDiffusion, kFlow };
enum class Parameterisation { kNoise, kWs, kEdm };
enum class NoiseSchedule { kVp, kCosine };

enum class OptimizerType { kAdam, kAdamW };
enum class LrSchedule { kConstant, kCosine };
enum class LossWeighting { kUniform, kNoisePower, kNoiseAmplitude };
enum class Precision { kFp32, kBf16 };
enum class DeviceKind { kAuto, kCpu, kCuda };

enum class SamplerMethod { kEuler, kHeun, kExponential, kDpmSolver2m, kSde };
enum class TimeGrid { kUniform, kLogSnr, kEdm };
enum class LikelihoodType { kNone, kWs, kNormalisedGradient, kDps, kProximal };
enum class LambdaSchedule { kConstant, kLinear };
enum class ProximalX0 { kMean, kSample };

enum class OperatorType {
  kIdentity,
  kGaussianBlur,
  kBoxBlur,
  kMotionBlur,
  kDownsample,
  kInpaint,
  kLaplace,
  kIdt,
  kPsf,
  kTransferFunction
};
enum class Boundary { kCircular, kZero };
enum class MaskKind { kRandom, kBox, kFile };
enum class PsfCentre { kCenter, kCorner };

enum class EvalMethod { kWsPrior, kConventionalPrior, kGaussianPrior, kWiener, kTikhonov };
enum class ImageSelection { kRange, kList, kRandom };

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };

template <class E>
struct EnumEntry {
  E value;
  std::string_view name;
};

// Specialised once per enum; kValues lists every enumerator with its config spelling.
template <class E>
struct EnumTraits;

template <>
struct EnumTraits<DataReader> {
  static constexpr std::array<EnumEntry<DataReader>, 4> kValues{{{DataReader::kIdx, "idx"},
                                                                 {DataReader::kCifar10, "cifar10"},
                                                                 {DataReader::kFolder, "folder"},
                                                                 {DataReader::kHdf5, "hdf5"}}};
};

template <>
struct EnumTraits<DataSplit> {
  static constexpr std::array<EnumEntry<DataSplit>, 2> kValues{
      {{DataSplit::kTrain, "train"}, {DataSplit::kTest, "test"}}};
};

template <>
struct EnumTraits<BadSamplePolicy> {
  static constexpr std::array<EnumEntry<BadSamplePolicy>, 2> kValues{
      {{BadSamplePolicy::kError, "error"}, {BadSamplePolicy::kSkip, "skip"}}};
};

template <>
struct EnumTraits<DataFit> {
  static constexpr std::array<EnumEntry<DataFit>, 4> kValues{{{DataFit::kCenter, "center"},
                                                              {DataFit::kResize, "resize"},
                                                              {DataFit::kRandomCrop, "random_crop"},
                                                              {DataFit::kNone, "none"}}};
};

template <>
struct EnumTraits<Hdf5Layout> {
  static constexpr std::array<EnumEntry<Hdf5Layout>, 3> kValues{
      {{Hdf5Layout::kAuto, "auto"}, {Hdf5Layout::kNchw, "nchw"}, {Hdf5Layout::kNhwc, "nhwc"}}};
};

template <>
struct EnumTraits<FloatRange> {
  static constexpr std::array<EnumEntry<FloatRange>, 2> kValues{
      {{FloatRange::kUnit, "unit"}, {FloatRange::kSymmetric, "symmetric"}}};
};

template <>
struct EnumTraits<NoiseFamily> {
  static constexpr std::array<EnumEntry<NoiseFamily>, 5> kValues{
      {{NoiseFamily::kWhite, "white"},
       {NoiseFamily::kGrf, "grf"},
       {NoiseFamily::kPowerLaw, "power_law"},
       {NoiseFamily::kMixture, "mixture"},
       {NoiseFamily::kMeasured, "measured"}}};
};

template <>
struct EnumTraits<GrfSampling> {
  static constexpr std::array<EnumEntry<GrfSampling>, 2> kValues{
      {{GrfSampling::kUniform, "uniform"}, {GrfSampling::kLogUniform, "log_uniform"}}};
};

template <>
struct EnumTraits<ChannelMode> {
  static constexpr std::array<EnumEntry<ChannelMode>, 2> kValues{
      {{ChannelMode::kGray, "gray"}, {ChannelMode::kPerChannel, "per_channel"}}};
};

template <>
struct EnumTraits<NoiseNormalisation> {
  static constexpr std::array<EnumEntry<NoiseNormalisation>, 2> kValues{
      {{NoiseNormalisation::kUnitVariance, "unit_variance"},
       {NoiseNormalisation::kKernelSum, "kernel_sum"}}};
};

template <>
struct EnumTraits<ModelType> {
  static constexpr std::array<EnumEntry<ModelType>, 2> kValues{
      {{ModelType::kDdpmUnet, "ddpm_unet"}, {ModelType::kGaussian, "gaussian"}}};
};

template <>
struct EnumTraits<ProcessType> {
  static constexpr std::array<EnumEntry<ProcessType>, 2> kValues{
      {{ProcessType::kDiffusion, "diffusion"}, {ProcessType::kFlow, "flow"}}};
};

template <>
struct EnumTraits<Parameterisation> {
  static constexpr std::array<EnumEntry<Parameterisation>, 3> kValues{
      {{Parameterisation::kNoise, "noise"},
       {Parameterisation::kWs, "ws"},
       {Parameterisation::kEdm, "edm"}}};
};

template <>
struct EnumTraits<NoiseSchedule> {
  static constexpr std::array<EnumEntry<NoiseSchedule>, 2> kValues{
      {{NoiseSchedule::kVp, "vp"}, {NoiseSchedule::kCosine, "cosine"}}};
};

template <>
struct EnumTraits<OptimizerType> {
  static constexpr std::array<EnumEntry<OptimizerType>, 2> kValues{
      {{OptimizerType::kAdam, "adam"}, {OptimizerType::kAdamW, "adamw"}}};
};

template <>
struct EnumTraits<LrSchedule> {
  static constexpr std::array<EnumEntry<LrSchedule>, 2> kValues{
      {{LrSchedule::kConstant, "constant"}, {LrSchedule::kCosine, "cosine"}}};
};

template <>
struct EnumTraits<LossWeighting> {
  static constexpr std::array<EnumEntry<LossWeighting>, 3> kValues{
      {{LossWeighting::kUniform, "uniform"},
       {LossWeighting::kNoisePower, "noise_power"},
       {LossWeighting::kNoiseAmplitude, "noise_amplitude"}}};
};

template <>
struct EnumTraits<ProximalX0> {
  static constexpr std::array<EnumEntry<ProximalX0>, 2> kValues{
      {{ProximalX0::kMean, "mean"}, {ProximalX0::kSample, "sample"}}};
};

template <>
struct EnumTraits<Precision> {
  static constexpr std::array<EnumEntry<Precision>, 2> kValues{
      {{Precision::kFp32, "fp32"}, {Precision::kBf16, "bf16"}}};
};

template <>
struct EnumTraits<DeviceKind> {
  static constexpr std::array<EnumEntry<DeviceKind>, 3> kValues{
      {{DeviceKind::kAuto, "auto"}, {DeviceKind::kCpu, "cpu"}, {DeviceKind::kCuda, "cuda"}}};
};

template <>
struct EnumTraits<SamplerMethod> {
  static constexpr std::array<EnumEntry<SamplerMethod>, 5> kValues{
      {{SamplerMethod::kEuler, "euler"},
       {SamplerMethod::kHeun, "heun"},
       {SamplerMethod::kExponential, "exponential"},
       {SamplerMethod::kDpmSolver2m, "dpm_solver_2m"},
       {SamplerMethod::kSde, "sde"}}};
};

template <>
struct EnumTraits<TimeGrid> {
  static constexpr std::array<EnumEntry<TimeGrid>, 3> kValues{
      {{TimeGrid::kUniform, "uniform"}, {TimeGrid::kLogSnr, "log_snr"}, {TimeGrid::kEdm, "edm"}}};
};

template <>
struct EnumTraits<LikelihoodType> {
  static constexpr std::array<EnumEntry<LikelihoodType>, 5> kValues{
      {{LikelihoodType::kNone, "none"},
       {LikelihoodType::kWs, "ws"},
       {LikelihoodType::kNormalisedGradient, "normalised_gradient"},
       {LikelihoodType::kDps, "dps"},
       {LikelihoodType::kProximal, "proximal"}}};
  // Older spellings that still parse (written back in the current one): `jalal`, the step's
  // earlier name after an author of the method it comes from.
  static constexpr std::array<EnumEntry<LikelihoodType>, 1> kAliases{
      {{LikelihoodType::kNormalisedGradient, "jalal"}}};
};

template <>
struct EnumTraits<LambdaSchedule> {
  static constexpr std::array<EnumEntry<LambdaSchedule>, 2> kValues{
      {{LambdaSchedule::kConstant, "constant"}, {LambdaSchedule::kLinear, "linear"}}};
};

template <>
struct EnumTraits<OperatorType> {
  static constexpr std::array<EnumEntry<OperatorType>, 10> kValues{
      {{OperatorType::kIdentity, "identity"},
       {OperatorType::kGaussianBlur, "gaussian_blur"},
       {OperatorType::kBoxBlur, "box_blur"},
       {OperatorType::kMotionBlur, "motion_blur"},
       {OperatorType::kDownsample, "downsample"},
       {OperatorType::kInpaint, "inpaint"},
       {OperatorType::kLaplace, "laplace"},
       {OperatorType::kIdt, "idt"},
       {OperatorType::kPsf, "psf"},
       {OperatorType::kTransferFunction, "transfer_function"}}};
};

template <>
struct EnumTraits<Boundary> {
  static constexpr std::array<EnumEntry<Boundary>, 2> kValues{
      {{Boundary::kCircular, "circular"}, {Boundary::kZero, "zero"}}};
};

template <>
struct EnumTraits<MaskKind> {
  static constexpr std::array<EnumEntry<MaskKind>, 3> kValues{
      {{MaskKind::kRandom, "random"}, {MaskKind::kBox, "box"}, {MaskKind::kFile, "file"}}};
};

template <>
struct EnumTraits<PsfCentre> {
  static constexpr std::array<EnumEntry<PsfCentre>, 2> kValues{
      {{PsfCentre::kCenter, "center"}, {PsfCentre::kCorner, "corner"}}};
};

template <>
struct EnumTraits<EvalMethod> {
  static constexpr std::array<EnumEntry<EvalMethod>, 5> kValues{
      {{EvalMethod::kWsPrior, "ws_prior"},
       {EvalMethod::kConventionalPrior, "conventional_prior"},
       {EvalMethod::kGaussianPrior, "gaussian_prior"},
       {EvalMethod::kWiener, "wiener"},
       {EvalMethod::kTikhonov, "tikhonov"}}};
};

template <>
struct EnumTraits<ImageSelection> {
  static constexpr std::array<EnumEntry<ImageSelection>, 3> kValues{
      {{ImageSelection::kRange, "range"},
       {ImageSelection::kList, "list"},
       {ImageSelection::kRandom, "random"}}};
};

template <>
struct EnumTraits<LogLevel> {
  static constexpr std::array<EnumEntry<LogLevel>, 5> kValues{{{LogLevel::kTrace, "trace"},
                                                               {LogLevel::kDebug, "debug"},
                                                               {LogLevel::kInfo, "info"},
                                                               {LogLevel::kWarn, "warn"},
                                                               {LogLevel::kError, "error"}}};
};

template <class E, class = void>
struct IsConfigEnum : std::false_type {};
template <class E>
struct IsConfigEnum<E, std::void_t<decltype(EnumTraits<E>::kValues)>> : std::true_type {};
template <class E>
inline constexpr bool kIsConfigEnum = IsConfigEnum<E>::value;

// The config spelling of an enumerator, e.g. enum_name(NoiseFamily::kPowerLaw) == "power_law".
template <class E, std::enable_if_t<kIsConfigEnum<E>, int> = 0>
constexpr std::string_view enum_name(E value) {
  for (const auto& entry : EnumTraits<E>::kValues) {
    if (entry.value == value) return entry.name;
  }
  return "<invalid>";  // Only reachable through a cast from an out-of-range integer.
}

template <class E, class = void>
struct HasEnumAliases : std::false_type {};
template <class E>
struct HasEnumAliases<E, std::void_t<decltype(EnumTraits<E>::kAliases)>> : std::true_type {};

// Inverse of enum_name, also accepting an enum's kAliases (older spellings); nullopt for a
// spelling in neither table.
template <class E, std::enable_if_t<kIsConfigEnum<E>, int> = 0>
constexpr std::optional<E> parse_enum(std::string_view name) {
  for (const auto& entry : EnumTraits<E>::kValues) {
    if (entry.name == name) return entry.value;
  }
  if constexpr (HasEnumAliases<E>::value) {
    for (const auto& entry : EnumTraits<E>::kAliases) {
      if (entry.name == name) return entry.value;
    }
  }
  return std::nullopt;
}

// Streams the config spelling, so logs and messages read like the YAML the user wrote.
template <class E, std::enable_if_t<kIsConfigEnum<E>, int> = 0>
std::ostream& operator<<(std::ostream& out, E value) {
  return out << enum_name(value);
}

}  // namespace wsd
