#include "data/batch_loader.hpp"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "data/hdf5_reader.hpp"
#include "data/idx_reader.hpp"
#include "tests/data/data_files.hpp"
#include "tests/support/synthetic_idx.hpp"

namespace wsd {
namespace {

using test::fresh_dir;

// n blob images of 12x12 in the IDX format (padded/cropped or flipped by the loader).
std::shared_ptr<const Dataset> idx_dataset(const std::string& name, int64_t n) {
  const auto dir = fresh_dir(name);
  test::write_blob_idx_images(dir / "train-images-idx3-ubyte", n, 12, 3);
  return std::make_shared<IdxDataset>(dir.string(), "train");
}

struct LoaderSetup {
  DataConfig data;
  LoaderRuntime runtime;
};

LoaderSetup options(int64_t batch, int rank = 0, int world = 1) {
  LoaderSetup o;
  o.runtime.batch_size = batch;
  o.runtime.seed = 11;
  o.runtime.rank = rank;
  o.runtime.world_size = world;
  o.data.image_size = 10;
  o.data.workers = 0;
  return o;
}

BatchLoader loader_for(std::shared_ptr<const Dataset> ds, const LoaderSetup& o) {
  return BatchLoader(std::move(ds), o.data, o.runtime);
}

TEST(BatchLoader, RanksSplitEveryEpochIntoDisjointShardsThatCoverIt) {
  const auto ds = idx_dataset("loader_shards", 60);
  for (int world : {1, 2, 3}) {
    for (int64_t epoch : {0, 1, 5}) {
      std::multiset<int64_t> seen;
      int64_t per_epoch = 0;
      for (int rank = 0; rank < world; ++rank) {
        const BatchLoader loader = loader_for(ds, options(5, rank, world));
        per_epoch = loader.batches_per_epoch();
        EXPECT_EQ(per_epoch, 60 / (5 * world));
        for (int64_t b = 0; b < per_epoch; ++b) {
          for (const int64_t i : loader.batch_indices(epoch, b)) seen.insert(i);
        }
      }
      // 60 is a multiple of every global batch here, so every sample appears exactly once.
      ASSERT_EQ(seen.size(), 60u) << world;
      for (int64_t i = 0; i < 60; ++i) EXPECT_EQ(seen.count(i), 1u) << world << " " << i;
    }
  }
  // A tail that does not fill a global batch is dropped, never shared.
  std::set<int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    const BatchLoader loader = loader_for(ds, options(7, rank, 3));
    ASSERT_EQ(loader.batches_per_epoch(), 2);
    for (int64_t b = 0; b < 2; ++b) {
      for (const int64_t i : loader.batch_indices(0, b)) EXPECT_TRUE(seen.insert(i).second) << i;
    }
  }
  EXPECT_EQ(seen.size(), 42u);
}

TEST(BatchLoader, OrderDependsOnlyOnSeedAndEpoch) {
  const auto ds = idx_dataset("loader_order", 40);
  const BatchLoader a = loader_for(ds, options(4)), b = loader_for(ds, options(4));
  EXPECT_EQ(a.batch_indices(3, 2), b.batch_indices(3, 2));
  EXPECT_NE(a.batch_indices(0, 0), a.batch_indices(1, 0));
  auto other = options(4);
  other.runtime.seed = 12;
  EXPECT_NE(loader_for(ds, other).batch_indices(0, 0), a.batch_indices(0, 0));
}

std::vector<torch::Tensor> take(BatchLoader& loader, int n) {
  std::vector<torch::Tensor> batches;
  for (int i = 0; i < n; ++i) batches.push_back(loader.next());
  return batches;
}

TEST(BatchLoader, ZeroOneAndThreeWorkersGiveIdenticalBatches) {
  const auto ds = idx_dataset("loader_workers", 30);
  auto o = options(4);
  o.data.random_flip = true;
  o.data.fit = DataFit::kRandomCrop;  // random windows of the 12x12 images
  std::vector<torch::Tensor> reference;
  for (int workers : {0, 1, 3}) {
    o.data.workers = workers;
    o.data.prefetch = 2;
    BatchLoader loader = loader_for(ds, o);
    const auto batches = take(loader, 20);  // 7 per epoch: crosses two epoch boundaries
    EXPECT_EQ(loader.epoch(), 2);
    EXPECT_EQ(loader.position(), 6);
    if (reference.empty()) {
      reference = batches;
      continue;
    }
    for (size_t i = 0; i < batches.size(); ++i) {
      EXPECT_TRUE(torch::equal(batches[i], reference[i])) << workers << " workers, batch " << i;
    }
  }
  // The batches are the indexed images, augmented.
  const auto first = reference[0];
  ASSERT_EQ(first.sizes(), (std::vector<int64_t>{4, 1, 10, 10}));
  EXPECT_GE(first.min().item<float>(), -1.0f);
  EXPECT_LE(first.max().item<float>(), 1.0f);
}

TEST(BatchLoader, SeekResumesAtTheExactNextBatch) {
  const auto ds = idx_dataset("loader_resume", 30);
  auto o = options(4);
  o.data.random_flip = true;
  for (int workers : {0, 2}) {
    o.data.workers = workers;
    BatchLoader straight = loader_for(ds, o);
    take(straight, 9);
    const int64_t epoch = straight.epoch(), position = straight.position();
    EXPECT_EQ(epoch, 1);
    EXPECT_EQ(position, 2);
    BatchLoader resumed = loader_for(ds, o);
    take(resumed, 3);  // already prefetching elsewhere: the seek must drop that
    resumed.seek(epoch, position);
    for (int i = 0; i < 10; ++i) {
      EXPECT_TRUE(torch::equal(straight.next(), resumed.next())) << workers << " " << i;
    }
    EXPECT_EQ(resumed.epoch(), straight.epoch());
    EXPECT_EQ(resumed.position(), straight.position());
    // Seeking to the end of an epoch continues with the next one.
    resumed.seek(0, resumed.batches_per_epoch());
    BatchLoader fresh = loader_for(ds, o);
    fresh.seek(1, 0);
    EXPECT_TRUE(torch::equal(resumed.next(), fresh.next()));
  }
}

TEST(BatchLoader, StoppingEarlyShutsTheWorkersDown) {
  const auto ds = idx_dataset("loader_stop", 200);
  auto o = options(2);
  o.data.workers = 3;
  o.data.prefetch = 8;
  for (int i = 0; i < 5; ++i) {
    BatchLoader loader = loader_for(ds, o);
    loader.next();  // workers are busy filling the queue when the loader goes away
  }
  BatchLoader never_used = loader_for(ds, o);  // no thread was started
  SUCCEED();
}

// n float samples of 4x4 in an HDF5 file; sample `bad` has a NaN pixel.
std::shared_ptr<const Dataset> nan_dataset(const std::string& name, int64_t n, int64_t bad) {
  const auto file = fresh_dir(name) / "data.h5";
  std::vector<float> values(static_cast<size_t>(n * 16));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 13) / 13.0f;
  values[static_cast<size_t>(bad * 16 + 3)] = std::numeric_limits<float>::quiet_NaN();
  test::write_h5(file, "/images", H5T_NATIVE_FLOAT, {static_cast<hsize_t>(n), 1, 4, 4},
                 values.data());
  return std::make_shared<const Hdf5Dataset>(file.string(), Hdf5Options{});
}

TEST(BatchLoader, AWorkersErrorReachesTheConsumerWithItsMessage) {
  const auto ds = nan_dataset("loader_error", 24, 17);
  auto o = options(4);
  o.data.image_size = 4;
  o.data.workers = 3;
  std::string message;
  try {
    BatchLoader loader = loader_for(ds, o);
    for (int i = 0; i < 6; ++i) loader.next();  // one epoch: reaches sample 17
  } catch (const BadSampleError& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("data.h5' /images[17] contains NaN"), std::string::npos) << message;
}

TEST(BatchLoader, SkippedSamplesAreReplacedDeterministicallyAndCounted) {
  const auto ds = nan_dataset("loader_skip", 24, 17);
  auto o = options(4);
  o.data.image_size = 4;
  o.data.on_bad_sample = BadSamplePolicy::kSkip;
  std::vector<torch::Tensor> reference;
  for (int workers : {0, 3}) {
    o.data.workers = workers;
    BatchLoader loader = loader_for(ds, o);
    const auto batches = take(loader, 12);   // two epochs: the bad sample comes up twice
    EXPECT_EQ(loader.skipped_samples(), 1);  // counted once
    EXPECT_NE(loader.describe().find("1 bad sample(s) skipped"), std::string::npos);
    for (const auto& b : batches) EXPECT_TRUE(torch::isfinite(b).all().item<bool>());
    if (reference.empty()) reference = batches;
    for (size_t i = 0; i < batches.size(); ++i) EXPECT_TRUE(torch::equal(batches[i], reference[i]));
  }
}

TEST(BatchLoader, TooFewSamplesForOneGlobalBatchIsAnInputError) {
  const auto ds = idx_dataset("loader_small", 5);
  EXPECT_THROW(loader_for(ds, options(3, 0, 2)), InputError);
}

}  // namespace
}  // namespace wsd
