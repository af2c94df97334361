// The conjugate-gradient solve of the Gaussian posterior for any linear operator
// (infer/gaussian/cg_gaussian_posterior.hpp) and the proximal likelihood step that uses it for
// operators that are not Fourier-diagonal. Checked against dense matrices (8 x 8 images, float64,
// torch::linalg) for inpainting and a zero-boundary blur under structured noise, and against
// the closed form per frequency for Fourier-diagonal operators, with their transfer function
// hidden so that the step takes its CG path: the two solvers check each other.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "infer/baselines/wiener_filter.hpp"
#include "infer/gaussian/cg_gaussian_posterior.hpp"
#include "infer/likelihood/proximal_step.hpp"
#include "infer/solve/posterior_solver.hpp"
#include "tests/infer/dense_gaussian_posterior.hpp"
#include "tests/infer/gaussian_problem.hpp"

namespace wsd {
namespace {

// An operator seen through forward and adjoint only: what the step knows of a file-defined or
// any other operator without a transfer function.
class ForwardAdjointOnly : public LinearOperatorImpl {
 public:
  explicit ForwardAdjointOnly(LinearOperator inner) : inner_(std::move(inner)) {}
  std::string kind() const override { return inner_->kind(); }
  torch::Tensor forward(const torch::Tensor& x) override { return inner_->forward(x); }
  torch::Tensor adjoint(const torch::Tensor& y) override { return inner_->adjoint(y); }
  std::vector<int64_t> input_shape() const override { return inner_->input_shape(); }
  std::vector<int64_t> output_shape() const override { return inner_->output_shape(); }

 private:
  LinearOperator inner_;
};

LinearOperator hide_transfer_function(const LinearOperator& op) {
  return make_linear_operator<ForwardAdjointOnly>(op);
}

TaskConfig inpaint_task() {
  TaskConfig task;
  task.operator_name = OperatorType::kInpaint;
  task.mask_fraction = 0.4;
  task.seed = 4;
  return task;
}

TaskConfig zero_blur_task() {
  auto task = test::blur_task(1.2);
  task.kernel_size = 5;
  task.boundary = Boundary::kZero;
  return task;
}

// Measurement noise unlike the prior's: a low-frequency GRF with a small white part.
NoiseConfig structured_noise() { return test::fixed_grf(1.5); }

const CgOptions kTight{500, 1e-13};

// A 2 x 2 LED IDT task: Fourier-diagonal with several measured channels.
TaskConfig small_idt_task() {
  TaskConfig idt;
  idt.operator_name = OperatorType::kIdt;
  idt.led_grid = 2;
  idt.pixel_size = 0.5;
  return idt;
}

TEST(CgGaussianPosterior, MeanAndPerturbAndOptimiseDrawsMatchTheDensePosterior) {
  for (const auto& [name, task] : {std::pair<std::string, TaskConfig>{"inpaint", inpaint_task()},
                                   {"zero_blur", zero_blur_task()}}) {
    SCOPED_TRACE(name);
    auto p = test::make_gaussian_problem(task, 3, 8, 8, 0.1, 5, structured_noise());
    const auto model = p.measurement_model();
    ASSERT_FALSE(p.op->is_fourier_diagonal());
    const auto exact = test::dense_posterior(*p.op, p.y, model);
    const CgGaussianPosterior cg(*p.op, torch::kFloat64, model.prior_power, model.noise_power,
                                 shift_invariant_gain(*p.op, torch::kFloat64, torch::kCPU), kTight);
    const auto solution = cg.mean(model.prior_mean.unsqueeze(0), p.y);
    EXPECT_LT((solution.x - exact.mean).abs().max().item<double>(), 1e-9);
    EXPECT_LE(solution.relative_residual, kTight.tolerance);
    // A warm start from the answer needs no iteration.
    const auto again = cg.mean(model.prior_mean.unsqueeze(0), p.y, solution.z);
    EXPECT_LE(again.iterations, 1);

    // Perturb-and-optimise is affine in its white noise (e, u): its covariance is L_e L_e^T +
    // L_u L_u^T, read off column by column with unit vectors, and must be Cov[x | y].
    const int64_t d = 64;
    const auto basis = torch::eye(d, torch::kFloat64).view({d, 1, 8, 8});
    const auto y_rows = p.y.narrow(0, 0, 1).expand({d, -1, -1, -1});
    const auto centre = cg.mean(model.prior_mean.unsqueeze(0), y_rows).x;
    const auto columns = [&](const torch::Tensor& e, const torch::Tensor& u) {
      return (cg.sample(model.prior_mean.unsqueeze(0), y_rows, e, u).x - centre).flatten(1).t();
    };
    const auto zeros = torch::zeros_like(basis);
    const auto l_e = columns(basis, zeros), l_u = columns(zeros, basis);
    const auto covariance = l_e.matmul(l_e.t()) + l_u.matmul(l_u.t());
    EXPECT_LT((covariance - exact.covariance).abs().max().item<double>(),
              1e-8 * exact.covariance.abs().max().item<double>());
  }
}

// The Tikhonov baseline is the same solve: on a Fourier-diagonal operator it is the Wiener
// filter.
TEST(CgGaussianPosterior, AgreesWithTheClosedFormOnFourierDiagonalOperators) {
  for (const auto& task : {test::blur_task(1.5), small_idt_task()}) {
    auto p = test::make_gaussian_problem(task, 2, 12, 10, 0.05, 3, structured_noise());
    const auto model = p.measurement_model();
    const CgGaussianPosterior cg(*p.op, torch::kFloat64, model.prior_power, model.noise_power,
                                 shift_invariant_gain(*p.op, torch::kFloat64, torch::kCPU), kTight);
    const auto x = cg.mean(model.prior_mean.unsqueeze(0), p.y).x;
    EXPECT_LT((x - wiener_filter(*p.op, p.y, model)).abs().max().item<double>(), 1e-9)
        << p.op->kind();
  }
}

LikelihoodSetup setup_for(const test::GaussianProblem& p, const LinearOperator& op,
                          const GaussianMeasurementModel& model, ProximalX0 x0) {
  LikelihoodSetup setup;
  setup.op = op;
  setup.y = p.y;
  setup.sampler.proximal_x0 = x0;
  setup.sampler.cg_tolerance = 1e-13;
  setup.sampler.cg_max_iterations = 500;
  setup.prior_noise = &p.noise;
  setup.seeds = p.seeds;
  setup.model = &model;
  return setup;
}

// A step from t to s = 0 in the mean form lands on x0_dc = E[x_0 | x_t, y] for the Gaussian
// prior: x_t and y are two linear observations of x_0, solved here with dense matrices (the
// stacked operator [alpha I; A], noise blockdiag(sigma^2 K K^T, Sigma_y)).
TEST(ProximalCg, MeanFormStepsToTheDensePosteriorMeanGivenTheStateAndTheData) {
  constexpr int64_t kSide = 8;
  for (const auto& [name, task] : {std::pair<std::string, TaskConfig>{"inpaint", inpaint_task()},
                                   {"zero_blur", zero_blur_task()}}) {
    SCOPED_TRACE(name);
    auto p = test::make_gaussian_problem(task, 3, kSide, kSide, 0.1, 11, structured_noise());
    const auto model = p.measurement_model();
    const double t = 0.35;
    const double alpha = p.schedule->alpha(t), sigma = p.schedule->sigma(t);
    const auto prior_noise_power = p.noise.psd(kSide, kSide);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(23);
    const auto noise = test::fourier_filter(
        torch::randn({3, 1, kSide, kSide}, gen, torch::kFloat64), prior_noise_power.sqrt());
    const auto x_t = alpha * p.x_true + sigma * noise;
    const auto s_w = p.prior->whitened_score(x_t, torch::full({3}, t, torch::kFloat64));
    const auto step = likelihood_kind(LikelihoodType::kProximal)
                          .make(setup_for(p, p.op, model, ProximalX0::kMean));
    const auto x0_dc = step->transition({x_t, s_w, t, t, *p.schedule});

    const auto exact =
        test::dense_x0_given_xt_and_y(*p.op, model, prior_noise_power, alpha, sigma, x_t, p.y);
    EXPECT_LT((x0_dc.to(torch::kFloat64) - exact).abs().max().item<double>(), 1e-8);
  }
}

// For Fourier-diagonal operators the CG path (transfer function hidden) and the closed form take
// the same mean-form steps, along a whole trajectory (warm starts included).
TEST(ProximalCg, AgreesWithTheClosedFormAlongATrajectory) {
  for (const auto& task : {test::blur_task(1.5), small_idt_task()}) {
    auto p = test::make_gaussian_problem(task, 2, 12, 10, 0.05, 3, structured_noise());
    const auto model = p.measurement_model();
    auto closed = likelihood_kind(LikelihoodType::kProximal)
                      .make(setup_for(p, p.op, model, ProximalX0::kMean));
    auto cg = likelihood_kind(LikelihoodType::kProximal)
                  .make(setup_for(p, hide_transfer_function(p.op), model, ProximalX0::kMean));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(29);
    const auto start = torch::randn({2, 1, 12, 10}, gen, torch::kFloat64);
    torch::Tensor x_closed = start, x_cg = start;
    const int steps = 8;
    for (int i = 0; i < steps; ++i) {
      const double t = 1.0 - i / double(steps), dt = 1.0 / steps - (i + 1 == steps ? 1e-3 : 0.0);
      const auto tt = torch::full({2}, t, torch::kFloat64);
      x_closed = closed->transition(
          {x_closed, p.prior->whitened_score(x_closed, tt), t, dt, *p.schedule, i});
      x_cg = cg->transition({x_cg, p.prior->whitened_score(x_cg, tt), t, dt, *p.schedule, i});
      EXPECT_LT((x_closed - x_cg).abs().max().item<double>(), 1e-8)
          << p.op->kind() << ", step " << i;
    }
  }
}

// The CG path's `sample` form (perturb-and-optimise) draws exact posterior samples with the
// Gaussian prior: their mean over many images and draws scatters around the exact posterior
// mean as Cov[x | y] / M says (the closed form's oracle test, on the CG path).
TEST(ProximalCg, SampleFormAveragesToTheExactPosterior) {
  constexpr int kSamples = 4;
  auto p = test::make_gaussian_problem(inpaint_task(), 16, 8, 8, 0.1, 5, structured_noise());
  const auto model = p.measurement_model();
  const auto exact = test::dense_posterior(*p.op, p.y, model);
  const auto [eig, basis] = torch::linalg_eigh(exact.covariance);
  const auto kept = eig > 1e-3 * eig.max().item<double>();
  const double dof = 16.0 * kept.sum().item<double>();
  SamplerConfig sampler;
  sampler.method = SamplerMethod::kExponential;
  sampler.likelihood = LikelihoodType::kProximal;
  sampler.proximal_x0 = ProximalX0::kSample;
  sampler.steps = 29;
  sampler.samples = kSamples;
  sampler.batch_size = 64;
  sampler.cg_tolerance = 1e-8;
  const PosteriorProblem problem{p.op, p.y, p.seeds, {1, p.h, p.w}, model};
  const auto mean_of_m =
      PosteriorSolver{*p.prior, sampler, torch::kCPU}.at_weight(1.0).solve(problem);
  const auto d = torch::matmul((mean_of_m.to(torch::kFloat64) - exact.mean).flatten(1), basis);
  const double scatter =
      (d.square() / eig).index({torch::indexing::Slice(), kept}).mean().item<double>();
  EXPECT_NEAR(scatter * kSamples, 1.0, 4.0 * std::sqrt(2.0 / dof)) << "dof " << dof;
}

}  // namespace
}  // namespace wsd
