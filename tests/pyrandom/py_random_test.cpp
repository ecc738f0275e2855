// PyRandom against CPython 3.11's `random`: every expected value below was printed by
// `random.Random(seed)` in CPython (the script that produced them is in the comment at the end),
// for seeds 0, 1, 42, -42 (= 42: CPython seeds with abs), 2^32 and 2^32 + 5 (two key words), and
// the int64 extremes.
#include "pyrandom/py_random.hpp"

#include <gtest/gtest.h>

#include <array>
#include <limits>

using kv::pyrandom::PyRandom;

namespace {

struct Case {
  std::int64_t seed;
  std::array<std::uint32_t, 4> u32;  // getrandbits(32) x 4
  std::array<double, 3> random;      // random() x 3
  // randint(1, 6), randint(512, 4096), randrange(10), randint(0, 2**40), randint(-5, 5),
  // randint(7, 7), then uniform(0.1, 0.5), uniform(0.3, 1.5), choice(3 names) x 4 (index),
  // getrandbits(33), getrandbits(64), randint(INT64_MIN, INT64_MAX), randint(0, INT64_MAX)
  std::array<std::int64_t, 6> ints;
  std::array<double, 2> uniform;
  std::array<int, 4> choice;
  std::uint64_t bits33, bits64;
  std::int64_t full_range, half_range;
  std::uint32_t u32_at_1000;  // the 1000th getrandbits(32) (after one state regeneration)
};

// clang-format off
const Case kCases[] = {
    {0, {3626764237U, 1654615998U, 3255389356U, 3823568514U}, {0.8444218515250481, 0.7579544029403025, 0.420571580830845}, {4, 3616, 6, 567109562164LL, 3, 7}, {0.2619736549801657, 1.2405583068417272}, {1, 1, 1, 2}, 8124620664ULL, 9309829342914403545ULL, -4024381387931422438LL, 1749318759610081913LL, 2971151651U},
    {1, {577090037U, 2444712010U, 3639700191U, 3445702192U}, {0.13436424411240122, 0.8474337369372327, 0.763774618976614}, {2, 2843, 1, 258793550908LL, 2, 7}, {0.2888980974304467, 0.7555382679884732}, {0, 0, 1, 0}, 8131734758ULL, 7983143289132581517ULL, 3612478816373048742LL, 4219918144720109109LL, 1877627338U},
    {42, {2746317213U, 478163327U, 107420369U, 3184935163U}, {0.6394267984578837, 0.025010755222666936, 0.27502931836911926}, {6, 968, 0, 604480356603LL, -2, 7}, {0.15581517141005757, 0.42299421140580895}, {2, 2, 0, 2}, 1812140441ULL, 1728372192399379054ULL, 829024030824204428LL, 8286444275301796832LL, 4212168831U},
    {-42, {2746317213U, 478163327U, 107420369U, 3184935163U}, {0.6394267984578837, 0.025010755222666936, 0.27502931836911926}, {6, 968, 0, 604480356603LL, -2, 7}, {0.15581517141005757, 0.42299421140580895}, {2, 2, 0, 2}, 1812140441ULL, 1728372192399379054ULL, 829024030824204428LL, 8286444275301796832LL, 4212168831U},
    {4294967296LL, {485306839U, 1508871100U, 1794561286U, 4014597330U}, {0.11299430095636409, 0.41782886486292836, 0.0166763664992291}, {1, 1950, 6, 38374335698LL, -5, 7}, {0.4351373778152705, 1.4936700891120638}, {0, 0, 0, 1}, 2152139213ULL, 13596169596338629602ULL, 3535113015979475356LL, 6521143254397578158LL, 6718883U},
    {4294967301LL, {675479763U, 2085189291U, 1213270837U, 3822202474U}, {0.15727238718789782, 0.2824866316461999, 0.6044540318498407}, {2, 2500, 4, 33652465765LL, 0, 7}, {0.411041468240419, 1.4147367491634895}, {2, 1, 2, 1}, 8316314909ULL, 15020527822486936678ULL, -1788915953261183795LL, 2464411367086672810LL, 3832908751U},
    {std::numeric_limits<std::int64_t>::max(), {1359979423U, 2819855560U, 2711238091U, 569878368U}, {0.3166448820870279, 0.631259308253863, 0.8035542479972343}, {3, 3201, 2, 1081488030500LL, 2, 7}, {0.29071711830335145, 1.157951589181838}, {2, 2, 1, 0}, 3038577698ULL, 14140389005290232527ULL, 5391059599934959914LL, 3152066216235563537LL, 408401363U},
    {std::numeric_limits<std::int64_t>::min(), {2377109768U, 1691753470U, 4039908392U, 899083848U}, {0.5534639983914199, 0.9406144709090462, 0.24199432111690833}, {5, 2125, 3, 782048070965LL, 0, 7}, {0.28336165443419836, 1.1033033159142902}, {0, 0, 0, 2}, 4696935974ULL, 17874612491065845091ULL, 4278974474874160770LL, 6732632916365247302LL, 3569976616U},
};
// clang-format on

class PyRandomCpython : public ::testing::TestWithParam<Case> {};

TEST_P(PyRandomCpython, RawOutputsAndRandom) {
  const Case& c = GetParam();
  PyRandom r(c.seed);
  for (std::uint32_t v : c.u32) EXPECT_EQ(r.getrandbits(32), v);
  PyRandom f(c.seed);
  for (double v : c.random) EXPECT_EQ(f.random(), v);  // exact, not near
  PyRandom far(c.seed);
  for (int i = 0; i < 999; ++i) far.next_u32();
  EXPECT_EQ(far.next_u32(), c.u32_at_1000);
}

TEST_P(PyRandomCpython, IntegerDrawsUniformAndChoiceInOneSequence) {
  const Case& c = GetParam();
  PyRandom r(c.seed);
  EXPECT_EQ(r.randint(1, 6), c.ints[0]);
  EXPECT_EQ(r.randint(512, 4096), c.ints[1]);
  EXPECT_EQ(r.randrange(0, 10), c.ints[2]);
  EXPECT_EQ(r.randint(0, std::int64_t{1} << 40), c.ints[3]);
  EXPECT_EQ(r.randint(-5, 5), c.ints[4]);
  EXPECT_EQ(r.randint(7, 7), c.ints[5]);  // consumes a draw, as in CPython
  EXPECT_EQ(r.uniform(0.1, 0.5), c.uniform[0]);
  EXPECT_EQ(r.uniform(0.3, 1.5), c.uniform[1]);
  const std::array<int, 3> idx{0, 1, 2};
  for (int v : c.choice) EXPECT_EQ(r.choice(std::span<const int>(idx)), v);
  EXPECT_EQ(r.getrandbits(33), c.bits33);
  EXPECT_EQ(r.getrandbits(64), c.bits64);
  EXPECT_EQ(
      r.randint(std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()),
      c.full_range);
  EXPECT_EQ(r.randint(0, std::numeric_limits<std::int64_t>::max()), c.half_range);
}

INSTANTIATE_TEST_SUITE_P(Seeds, PyRandomCpython, ::testing::ValuesIn(kCases));

TEST(PyRandom, ReseedingRestartsTheSequenceAndBadArgumentsThrow) {
  PyRandom r(5);
  const double first = r.random();
  r.random();
  r.seed_int(-5);
  EXPECT_EQ(r.random(), first);
  r.seed_magnitude(5);
  EXPECT_EQ(r.random(), first);
  EXPECT_EQ(r.randbelow(0), 0U);
  EXPECT_EQ(r.getrandbits(0), 0U);
  EXPECT_THROW(r.randrange(3, 3), std::invalid_argument);
  EXPECT_THROW(r.randint(4, 3), std::invalid_argument);
  EXPECT_THROW(r.getrandbits(65), std::invalid_argument);
  EXPECT_THROW(r.choice(std::span<const int>()), std::invalid_argument);
}

}  // namespace

// Expected values: CPython 3.11, for each seed s:
//   r = random.Random(s); [r.getrandbits(32) for _ in range(4)]
//   r = random.Random(s); [r.random() for _ in range(3)]
//   r = random.Random(s); the calls of IntegerDrawsUniformAndChoiceInOneSequence in order
//   r = random.Random(s); 999 x r.getrandbits(32), then one more
