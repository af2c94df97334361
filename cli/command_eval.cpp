// `wsdiff eval`: PSNR/SSIM of reconstruction methods on benchmark tasks.
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "cli/output_paths.hpp"
#include "core/config/config_loader.hpp"
#include "core/util/device.hpp"
#include "infer/eval/evaluation.hpp"

namespace wsd::cli {
namespace {

struct EvalOptions {
  std::vector<std::string> configs;
  std::vector<std::string> overrides;
  std::string out;
  std::string device = "auto";
  bool json = false;
};

int run_eval(const EvalOptions& o) {
  std::vector<NamedPath> inputs;
  for (const auto& path : o.configs) inputs.emplace_back("--config", path);
  for (const char* name : {"results.json", "results.md"}) {
    refuse_output_over_inputs((std::filesystem::path(o.out) / name).string(), "--out", inputs);
  }
  EvalRequest request;
  request.out_dir = o.out;
  request.device = resolve_device(o.device);
  for (const auto& path : o.configs) {
    // Every config is checked before any work starts.
    request.tasks.push_back(
        {std::filesystem::path(path).stem().string(), load_config(path, o.overrides)});
  }
  ensure_writable_dir(o.out, "--out");
  const auto results = run_evaluation(request);
  std::cerr << results_markdown(results);
  spdlog::info("results: {}/results.json, {}/results.md", o.out, o.out);
  if (o.json) std::cout << results.dump(2) << std::endl;
  return 0;
}

}  // namespace

Command add_eval_command(CLI::App& root, const GlobalOptions&) {
  auto* app = root.add_subcommand("eval", "Evaluate methods on benchmark tasks (PSNR/SSIM)");
  auto o = std::make_shared<EvalOptions>();
  app->add_option("-c,--config", o->configs,
                  "experiment config (task + sampler + eval); repeat for several tasks")
      ->required();
  app->add_option("--set", o->overrides,
                  "override a value of every config, e.g. --set eval.n_images=4")
      ->allow_extra_args(false)
      ->take_all();
  app->add_option("-o,--out", o->out, "output directory")->required();
  app->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  app->add_flag("--json", o->json, "print results.json on stdout");
  return {app, [=]() { return run_eval(*o); }};
}

}  // namespace wsd::cli
