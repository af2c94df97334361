#include "operators/operator_registry.hpp"

#include <utility>

#include "operators/operator_factory.hpp"
#include "operators/operator_fixtures.hpp"

namespace wsd {
namespace {

// Tests may read the registry during static initialisation (parameterised test lists), so it
// holds no namespace-scope objects.
std::vector<std::vector<int64_t>> odd_shapes() { return {{1, 37, 31}, {3, 37, 31}}; }

OperatorEntry entry(std::string name, OperatorType type,
                    std::vector<std::vector<int64_t>> shapes = odd_shapes()) {
  OperatorEntry e;
  e.name = std::move(name);
  e.task.operator_name = type;
  e.task.seed = 7;
  e.shapes = std::move(shapes);
  return e;
}

std::vector<OperatorEntry> build_registry() {
  std::vector<OperatorEntry> all;
  all.push_back(entry("identity", OperatorType::kIdentity));
  for (const Boundary boundary : {Boundary::kCircular, Boundary::kZero}) {
    const std::string suffix = boundary == Boundary::kCircular ? "/circular" : "/zero";
    auto gauss = entry("gaussian_blur" + suffix, OperatorType::kGaussianBlur);
    gauss.task.blur_sigma = 1.7;
    gauss.task.kernel_size = 11;
    gauss.task.boundary = boundary;
    all.push_back(gauss);
    auto box = entry("box_blur" + suffix, OperatorType::kBoxBlur);
    box.task.kernel_size = 5;
    box.task.boundary = boundary;
    all.push_back(box);
    auto motion = entry("motion_blur" + suffix, OperatorType::kMotionBlur);
    motion.task.motion_length = 7.5;
    motion.task.motion_angle_deg = 30.0;
    motion.task.boundary = boundary;
    all.push_back(motion);
    // A measured PSF: asymmetric, with even sides.
    auto psf = entry("psf" + suffix, OperatorType::kPsf);
    psf.task.boundary = boundary;
    psf.from_file = true;
    all.push_back(psf);
  }
  // Even sizes too: the Nyquist column is where a file's Hermitian symmetry is checked.
  auto transfer = entry("transfer_function", OperatorType::kTransferFunction,
                        {{1, 37, 31}, {3, 37, 31}, {1, 32, 30}});
  transfer.from_file = true;
  all.push_back(transfer);
  auto down = entry("downsample", OperatorType::kDownsample, {{1, 39, 33}, {3, 39, 33}});
  down.task.downsample_factor = 3;
  all.push_back(down);
  auto random = entry("inpaint/random", OperatorType::kInpaint);
  random.task.mask_fraction = 0.6;
  all.push_back(random);
  auto box_hole = entry("inpaint/box", OperatorType::kInpaint);
  box_hole.task.mask_kind = MaskKind::kBox;
  box_hole.task.mask_fraction = 0.25;
  all.push_back(box_hole);
  auto mask_file = entry("inpaint/file", OperatorType::kInpaint);
  mask_file.task.mask_kind = MaskKind::kFile;
  mask_file.from_file = true;
  all.push_back(mask_file);
  auto laplace = entry("laplace", OperatorType::kLaplace);
  laplace.task.laplace_c = 0.3;
  all.push_back(laplace);
  // Even sizes too: the Nyquist bins are where Hermitian symmetry needs care.
  auto idt = entry("idt/phase", OperatorType::kIdt, {{1, 37, 31}, {1, 32, 30}});
  idt.task.led_grid = 3;
  all.push_back(idt);
  auto idt_abs = entry("idt/absorption", OperatorType::kIdt, {{2, 37, 31}, {2, 32, 30}});
  idt_abs.task.led_grid = 2;
  idt_abs.task.absorption = true;
  all.push_back(idt_abs);
  return all;
}

}  // namespace

LinearOperator OperatorEntry::make(const std::vector<int64_t>& input_shape) const {
  if (!from_file) return make_operator(task, input_shape);
  LinearOperator op = nullptr;
  with_fixture_files(task, input_shape, [&](const TaskConfig& with_file) {
    op = make_operator(with_file, input_shape);
  });
  return op;
}

const std::vector<OperatorEntry>& operator_registry() {
  static const std::vector<OperatorEntry> registry = build_registry();
  return registry;
}

}  // namespace wsd
