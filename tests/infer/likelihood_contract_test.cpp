// The contract every likelihood step keeps, run over every spelling of sampler.likelihood (as
// the operator contract suite runs over the operator registry): a step added to the factory is
// tested here without a line of its own.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <stdexcept>
#include <string>

#include "core/util/errors.hpp"
#include "infer/likelihood/likelihood_step.hpp"
#include "infer/samplers/time_grid.hpp"
#include "infer/solve/posterior_solver.hpp"
#include "tests/infer/gaussian_problem.hpp"

namespace wsd {
namespace {

std::vector<LikelihoodType> every_step() {
  std::vector<LikelihoodType> out;
  for (const auto& entry : EnumTraits<LikelihoodType>::kValues) out.push_back(entry.value);
  return out;
}

std::vector<SamplerMethod> every_sampler() {
  std::vector<SamplerMethod> out;
  for (const auto& entry : EnumTraits<SamplerMethod>::kValues) out.push_back(entry.value);
  return out;
}

class LikelihoodContract : public ::testing::TestWithParam<LikelihoodType> {
 protected:
  const LikelihoodKind& kind() const { return likelihood_kind(GetParam()); }

  // A sampler the step composes with (the first in the enum's order).
  SamplerMethod composing_sampler() const {
    for (const auto method : every_sampler()) {
      if (kind().composes_with(method)) return method;
    }
    ADD_FAILURE() << kind().name() << " composes with no sampler";
    return SamplerMethod::kEuler;
  }

  PosteriorSolver solver(test::GaussianProblem& p, int steps) const {
    SamplerConfig sampler;
    sampler.method = composing_sampler();
    sampler.likelihood = GetParam();
    sampler.steps = steps;
    sampler.batch_size = 2;
    return PosteriorSolver{*p.prior, sampler, torch::kCPU};
  }
};

TEST_P(LikelihoodContract, DescribesItself) {
  EXPECT_EQ(kind().type(), GetParam());
  EXPECT_EQ(kind().name(), std::string(enum_name(GetParam())));
  EXPECT_FALSE(kind().weight_meaning().empty()) << kind().name();
  EXPECT_LE(kind().min_decade(), kind().max_decade()) << kind().name();
  if (const auto natural = kind().natural_weight()) {
    EXPECT_GT(*natural, 0.0) << kind().name();
  }
  // Autograd cannot be recorded as a CUDA graph: a step that needs it says so.
  if (kind().differentiates_prior()) {
    EXPECT_TRUE(kind().graph_obstacle()) << kind().name();
  }
  // A transition replaces one sampler's step; it cannot compose with all of them.
  int composing = 0;
  for (const auto method : every_sampler()) composing += kind().composes_with(method) ? 1 : 0;
  EXPECT_GE(composing, 1) << kind().name();
  if (kind().replaces_transition()) {
    EXPECT_LT(composing, static_cast<int>(every_sampler().size())) << kind().name();
  }
}

// Made by its kind, a step knows it; it answers in the form its kind declares (an increment
// or a transition), with the state's shape and dtype, and refuses the other form.
TEST_P(LikelihoodContract, StepsAnswerInTheFormTheirKindDeclares) {
  auto p = test::make_gaussian_problem(test::blur_task(), 2, 12, 10, 0.1);
  const auto model = p.measurement_model();
  LikelihoodSetup setup;
  setup.op = p.op;
  setup.y = p.y;
  setup.prior_noise = &p.noise;
  setup.seeds = p.seeds;
  setup.model = &model;
  const auto step = kind().make(setup);
  if (!kind().uses_measurements()) {
    EXPECT_EQ(step, nullptr);
    return;
  }
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(&step->kind(), &kind());
  EXPECT_EQ(step->name(), kind().name());
  const double t = 0.4, dt = 0.02;
  const auto t_vec = torch::full({2}, t, torch::kFloat64);
  const auto& schedule = p.prior->schedule();
  const auto x_t = (schedule.alpha(t) * p.x_true).detach().requires_grad_(true);
  const auto s_w = p.prior->whitened_score(x_t, t_vec);
  const LikelihoodInput in{x_t, s_w, t, dt, schedule, 3};
  const auto answer = kind().replaces_transition() ? step->transition(in) : step->increment(in);
  EXPECT_EQ(answer.sizes(), x_t.sizes()) << kind().name();
  EXPECT_EQ(answer.scalar_type(), x_t.scalar_type()) << kind().name();
  EXPECT_TRUE(torch::isfinite(answer).all().item<bool>()) << kind().name();
  if (kind().replaces_transition()) {
    EXPECT_THROW(step->increment(in), std::logic_error);
  } else {
    EXPECT_THROW(step->transition(in), std::logic_error);
  }
}

// A step holds no trajectory state: the same solver gives the same images twice, and `auto`
// means the step's natural weight where it has one (else it must be searched: refused here).
TEST_P(LikelihoodContract, SolvesAreRepeatableAndAutoMeansTheNaturalWeight) {
  auto p = test::make_gaussian_problem(test::blur_task(), 2, 12, 10, 0.1);
  const PosteriorProblem problem{p.op, p.y, {5, 6}, {1, p.h, p.w}, p.measurement_model()};
  auto s = solver(p, 6);
  if (!kind().uses_measurements()) {
    EXPECT_THROW(s.at_weight(1.0).solve(problem), InputError);
    return;
  }
  const double weight = kind().natural_weight().value_or(0.5);
  const auto first = s.at_weight(weight).solve(problem);
  EXPECT_TRUE(torch::equal(first, s.at_weight(weight).solve(problem))) << kind().name();
  s.sampler.lambda.reset();
  if (kind().natural_weight()) {
    EXPECT_TRUE(torch::equal(first, s.solve(problem))) << kind().name();
  } else {
    EXPECT_THROW(s.solve(problem), InputError) << kind().name();
  }
}

// A step with a stability bound refuses weights at or above it before any work, and what it
// reports bounds the solver's own check.
TEST_P(LikelihoodContract, StabilityBoundIsEnforced) {
  auto p = test::make_gaussian_problem(test::blur_task(1.5), 2, 12, 10, 0.1);
  const PosteriorProblem problem{p.op, p.y, {1, 2}, {1, p.h, p.w}, p.measurement_model()};
  const auto s = solver(p, 20);
  const auto grid = uniform_time_grid(20, 1e-3);
  const auto bound =
      kind().stability_bound({p.prior->schedule(), grid, LambdaSchedule::kConstant, 1e-3, p.op});
  EXPECT_EQ(bound.has_value(), s.stability_bound(p.op).has_value()) << kind().name();
  if (!bound) return;
  EXPECT_TRUE(std::isfinite(*bound) && *bound > 0.0) << kind().name();
  EXPECT_THROW(s.at_weight(1.01 * *bound).solve(problem), UnstableSettingError);
}

// Samplers a step does not compose with are refused by name (`none`, no step, composes with all).
TEST_P(LikelihoodContract, RefusesSamplersItDoesNotComposeWith) {
  auto p = test::make_gaussian_problem(test::blur_task(), 2, 8, 8, 0.1);
  const PosteriorProblem problem{p.op, p.y, {1, 2}, {1, p.h, p.w}, p.measurement_model()};
  for (const auto method : every_sampler()) {
    if (kind().composes_with(method)) continue;
    auto s = solver(p, 4);
    s.sampler.method = method;
    try {
      s.at_weight(1.0).solve(problem);
      ADD_FAILURE() << kind().name() << " ran with " << enum_name(method);
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(enum_name(method))), std::string::npos);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStep, LikelihoodContract, ::testing::ValuesIn(every_step()),
                         [](const auto& info) { return std::string(enum_name(info.param)); });

}  // namespace
}  // namespace wsd
