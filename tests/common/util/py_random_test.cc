// Expected values were printed by CPython 3.11.7 (`import random; random.seed(s); ...`).
#include "common/util/py_random.h"

#include <gtest/gtest.h>

#include <numeric>

namespace mem1 {
namespace {

TEST(PyRandomTest, GetRandBitsMatchesCPython) {
  PyRandom r(233);
  EXPECT_EQ(r.GetRandBits(32), 2931216007u);
  EXPECT_EQ(r.GetRandBits(32), 3446561803u);
  EXPECT_EQ(r.GetRandBits(32), 2698614761u);
  EXPECT_EQ(r.GetRandBits(7), 22u);
  EXPECT_EQ(r.GetRandBits(40), 255658677796u);
  PyRandom zero(0);
  EXPECT_EQ(zero.GetRandBits(32), 3626764237u);
  EXPECT_EQ(zero.GetRandBits(32), 1654615998u);
  PyRandom wide((uint64_t{1} << 40) + 5);  // a two-word seed key
  EXPECT_EQ(wide.GetRandBits(32), 2166296868u);
  EXPECT_EQ(wide.GetRandBits(32), 2220160828u);
}

std::vector<size_t> Shuffled(size_t n, uint64_t seed) {
  std::vector<size_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  PyRandom r(seed);
  r.Shuffle(&v);
  return v;
}

TEST(PyRandomTest, ShuffleMatchesCPython) {
  EXPECT_EQ(Shuffled(10, 233), (std::vector<size_t>{5, 9, 0, 1, 4, 7, 6, 3, 8, 2}));
  const auto k = Shuffled(1000, 233);
  EXPECT_EQ(std::vector<size_t>(k.begin(), k.begin() + 12),
            (std::vector<size_t>{127, 320, 431, 331, 760, 454, 129, 769, 485, 270, 689, 918}));
  EXPECT_EQ(std::vector<size_t>(k.end() - 5, k.end()), (std::vector<size_t>{537, 178, 643, 821, 698}));
  // WebShop's 12,087 human goals: random.seed(233); random.shuffle(goals).
  const auto w = Shuffled(12087, 233);
  EXPECT_EQ(std::vector<size_t>(w.begin(), w.begin() + 8),
            (std::vector<size_t>{8655, 10304, 6940, 2750, 3667, 2144, 3577, 9548}));
  EXPECT_EQ(std::vector<size_t>(w.end() - 3, w.end()), (std::vector<size_t>{2856, 10294, 11181}));
}

TEST(PyRandomTest, RandBelowStaysInRange) {
  PyRandom r(7);
  for (uint64_t n : {1u, 2u, 3u, 8u, 1000u}) {
    for (int i = 0; i < 200; ++i) EXPECT_LT(r.RandBelow(n), n);
  }
}

}  // namespace
}  // namespace mem1
