// Every operator of the registry, on every shape the registry lists: shapes, the exact adjoint
// (dot-product test and autograd), the transfer function, batching, dtype and device moves.
// Relative tolerances in float64.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/config/config_enums.hpp"
#include "core/util/errors.hpp"
#include "operators/fourier_diagonal_operator.hpp"
#include "operators/operator_registry.hpp"

namespace wsd {
namespace {

struct Case {
  const OperatorEntry* entry;
  std::vector<int64_t> shape;
};

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const auto& entry : operator_registry()) {
    for (const auto& shape : entry.shapes) cases.push_back({&entry, shape});
  }
  return cases;
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string name = info.param.entry->name + "_" + std::to_string(info.param.shape[0]) + "x" +
                     std::to_string(info.param.shape[1]) + "x" +
                     std::to_string(info.param.shape[2]);
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

std::vector<int64_t> batched(int64_t n, const std::vector<int64_t>& shape) {
  std::vector<int64_t> sizes{n};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  return sizes;
}

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / b.norm().item<double>();
}

class OperatorContract : public testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    op_ = GetParam().entry->make(GetParam().shape);
    gen_ = at::detail::createCPUGenerator(1234);
  }
  torch::Tensor random_input(int64_t n, torch::Dtype dtype = torch::kFloat64) {
    return torch::randn(batched(n, op_->input_shape()), gen_, dtype);
  }
  torch::Tensor random_output(int64_t n) {
    return torch::randn(batched(n, op_->output_shape()), gen_, torch::kFloat64);
  }

  LinearOperator op_{nullptr};
  torch::Generator gen_;
};

TEST_P(OperatorContract, ShapesAndKind) {
  const auto& entry = *GetParam().entry;
  EXPECT_EQ(op_->input_shape(), GetParam().shape);
  EXPECT_EQ(op_->kind(), entry.name.substr(0, entry.name.find('/')));
  EXPECT_EQ(op_->kind(), enum_name(entry.task.operator_name));
  const auto y = op_->forward(random_input(2));
  EXPECT_EQ(y.sizes().vec(), batched(2, op_->output_shape()));
  EXPECT_EQ(y.scalar_type(), torch::kFloat64);
  const auto back = op_->adjoint(y);
  EXPECT_EQ(back.sizes().vec(), batched(2, op_->input_shape()));
  // Wrong shapes are input errors, not silent broadcasting.
  auto wrong = op_->input_shape();
  wrong[1] += 1;
  EXPECT_THROW(op_->forward(torch::zeros(batched(1, wrong), torch::kFloat64)), InputError);
  EXPECT_THROW(op_->forward(torch::zeros(op_->input_shape(), torch::kFloat64)), InputError);
  auto wrong_out = op_->output_shape();
  wrong_out[0] += 1;
  EXPECT_THROW(op_->adjoint(torch::zeros(batched(1, wrong_out), torch::kFloat64)), InputError);
}

TEST_P(OperatorContract, DotProductAdjointTest) {
  const auto x = random_input(3);
  const auto y = random_output(3);
  const double lhs = (op_->forward(x) * y).sum().item<double>();
  const double rhs = (x * op_->adjoint(y)).sum().item<double>();
  // A random pairing is far from orthogonal, so |lhs| is a fair scale.
  const double scale = op_->forward(x).norm().item<double>() * y.norm().item<double>();
  ASSERT_GT(std::abs(lhs), 1e-4 * scale);
  EXPECT_LT(std::abs(lhs - rhs) / std::abs(lhs), 1e-10)
      << "<Ax,y> = " << lhs << ", <x,A^H y> = " << rhs;
}

TEST_P(OperatorContract, AdjointMatchesAutogradVectorJacobianProduct) {
  const auto x = random_input(2).requires_grad_(true);
  const auto y = random_output(2);
  op_->forward(x).backward(y);
  EXPECT_LT(relative_error(x.grad(), op_->adjoint(y)), 1e-10);
}

TEST_P(OperatorContract, ForwardEqualsTransferFunctionWhenFourierDiagonal) {
  const auto transfer = op_->transfer_function();
  if (!transfer) {
    EXPECT_FALSE(op_->is_fourier_diagonal());
    GTEST_SKIP() << op_->kind() << " is not Fourier-diagonal";
  }
  const auto& t = *transfer;
  const auto& shape = GetParam().shape;
  ASSERT_TRUE(t.is_complex());
  ASSERT_EQ(t.dim(), 4);
  EXPECT_EQ(t.size(2), shape[1]);
  EXPECT_EQ(t.size(3), shape[2]);
  const bool channel_wise = t.size(0) == 1 && t.size(1) == 1;
  if (!channel_wise) {
    EXPECT_EQ(t.size(0), op_->output_shape()[0]);
    EXPECT_EQ(t.size(1), shape[0]);
  }
  // Hermitian on the discrete grid, so real images stay real.
  EXPECT_LT((t - hermitian_part(t)).abs().max().item<double>(), 1e-14);
  const auto x = random_input(2);
  const auto via_transfer = apply_transfer_function(x, t);
  EXPECT_LT(relative_error(op_->forward(x), via_transfer), 1e-12);
  const auto y = random_output(2);
  const auto adjoint_transfer = t.conj().transpose(0, 1);
  EXPECT_LT(relative_error(op_->adjoint(y), apply_transfer_function(y, adjoint_transfer)), 1e-12);
}

// ||A||^2 bounds the gain ||A x||^2 / ||x||^2 of every input (the stability bound of the explicit
// likelihood step rests on it); for Fourier-diagonal operators the exact value from the transfer
// function and power iteration agree.
TEST_P(OperatorContract, NormSquaredBoundsTheGainOfEveryInput) {
  const double norm_sq = operator_norm_squared(*op_);
  ASSERT_GT(norm_sq, 0.0);
  const auto x = random_input(8);
  const auto gain = op_->forward(x).square().flatten(1).sum(1) / x.square().flatten(1).sum(1);
  EXPECT_LE(gain.max().item<double>(), norm_sq * (1 + 1e-9));
  const double iterated = operator_norm_squared_by_power_iteration(*op_, 300);
  EXPECT_LE(iterated, norm_sq * (1 + 1e-9));
  EXPECT_GE(iterated, gain.max().item<double>() * (1 - 1e-9));
  // Exact for Fourier-diagonal operators; otherwise power iteration with a 1% margin.
  EXPECT_GT(iterated, (op_->is_fourier_diagonal() ? 0.98 : 0.97) * norm_sq);
}

TEST_P(OperatorContract, ImagesAreIndependentOfTheirBatch) {
  const auto x = random_input(3);
  const auto batch = op_->forward(x);
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(
        torch::allclose(op_->forward(x.narrow(0, i, 1)), batch.narrow(0, i, 1), 1e-13, 1e-13));
  }
}

TEST_P(OperatorContract, DtypeAndDeviceMoves) {
  const auto x = random_input(2);
  const auto y = random_output(2);
  const auto reference = op_->forward(x);
  const auto reference_adjoint = op_->adjoint(y);

  // A float64 module with float32 images answers in float32.
  const auto single = op_->forward(x.to(torch::kFloat32));
  EXPECT_EQ(single.scalar_type(), torch::kFloat32);
  EXPECT_LT(relative_error(single.to(torch::kFloat64), reference), 1e-5);

  auto moved = GetParam().entry->make(GetParam().shape);
  moved->to(torch::kFloat32);
  for (const auto& buffer : moved->buffers()) EXPECT_EQ(buffer.scalar_type(), torch::kFloat32);
  const auto converted = moved->forward(x.to(torch::kFloat32));
  EXPECT_EQ(converted.scalar_type(), torch::kFloat32);
  EXPECT_LT(relative_error(converted.to(torch::kFloat64), reference), 1e-5);
  moved->to(torch::kFloat64);
  for (const auto& buffer : moved->buffers()) EXPECT_EQ(buffer.scalar_type(), torch::kFloat64);
  EXPECT_LT(relative_error(moved->adjoint(y), reference_adjoint), 1e-5);

  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (CPU dtype checks passed)";
  auto gpu = GetParam().entry->make(GetParam().shape);
  gpu->to(torch::kCUDA);
  for (const auto& buffer : gpu->buffers()) EXPECT_TRUE(buffer.is_cuda());
  const auto on_gpu = gpu->forward(x.cuda());
  ASSERT_TRUE(on_gpu.is_cuda());
  EXPECT_LT(relative_error(on_gpu.cpu(), reference), 1e-10);
  const auto adjoint_on_gpu = gpu->adjoint(y.cuda());
  ASSERT_TRUE(adjoint_on_gpu.is_cuda());
  EXPECT_LT(relative_error(adjoint_on_gpu.cpu(), reference_adjoint), 1e-10);
  if (gpu->is_fourier_diagonal()) {
    EXPECT_TRUE(gpu->transfer_function()->is_cuda());
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, OperatorContract, testing::ValuesIn(all_cases()), case_name);

TEST(OperatorRegistry, CoversEveryOperatorType) {
  for (const auto& value : EnumTraits<OperatorType>::kValues) {
    const auto& registry = operator_registry();
    const bool found = std::any_of(registry.begin(), registry.end(), [&](const auto& entry) {
      return entry.task.operator_name == value.value;
    });
    EXPECT_TRUE(found) << value.name << " has no registry entry";
  }
}

TEST(OperatorRegistry, NamesAreUnique) {
  std::vector<std::string> names;
  for (const auto& entry : operator_registry()) names.push_back(entry.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
}

}  // namespace
}  // namespace wsd
