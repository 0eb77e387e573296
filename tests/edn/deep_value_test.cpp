// Values nested far deeper than the reader accepts, built in code (a state
// that keeps its previous version inside the new one grows a level per
// event). Dropping, comparing and hashing them must not overflow the stack;
// printing them is refused with an Error naming the limit.
#include <gtest/gtest.h>
#include <ucontext.h>

#include <string>
#include <vector>

#include "../common/small_stack.hpp"
#include "stube/edn.hpp"

namespace edn = stube::edn;
using edn::Value;
using namespace edn::literals;

namespace {

// Far past the depth at which the recursive versions overflowed an 8 MiB
// stack (about 100,000 levels for ==, 200,000 for dropping and hashing).
constexpr int kDeep = 300'000;

// [[[… bottom …]]], `levels` vectors around `bottom`.
Value vector_chain(int levels, const Value& bottom) {
  Value v = bottom;
  for (int i = 0; i < levels; ++i) v = edn::vec({v});
  return v;
}

// {:prev {:prev … bottom …} :n i}: the shape of a state that nests its past.
Value map_chain(int levels, const Value& bottom) {
  Value v = bottom;
  for (int i = 0; i < levels; ++i) v = edn::map({{"prev"_kw, v}, {"n"_kw, i}});
  return v;
}

// Vectors, maps, lists, sets and tags in turn.
Value mixed_chain(int levels) {
  Value v = 0;
  for (int i = 0; i < levels; ++i) {
    switch (i % 5) {
      case 0:
        v = edn::vec({i, v});
        break;
      case 1:
        v = edn::map({{"k"_kw, v}});
        break;
      case 2:
        v = edn::list({v});
        break;
      case 3:
        v = edn::set({v});
        break;
      default:
        v = Value::tagged("my/tag", v);
    }
  }
  return v;
}

TEST(EdnDeepValue, DroppingVeryDeepValuesDoesNotOverflowTheStack) {
  for (int round = 0; round < 2; ++round) {  // the second starts from a clean state
    Value v = vector_chain(kDeep, 1);
    EXPECT_EQ(v.depth(), 65535u) << "depth() saturates";
    v = map_chain(kDeep, "bottom");
    v = mixed_chain(kDeep);
    v = Value();
  }
  // A value still in use deep inside a dropped one survives it.
  const Value shared = edn::vec({"still here"});
  Value outer = vector_chain(kDeep, shared);
  outer = Value();
  EXPECT_EQ(shared, edn::vec({"still here"}));
}

TEST(EdnDeepValue, EqualityOrderAndHashOfDeepValues) {
  const Value a = map_chain(kDeep, 1);
  const Value b = map_chain(kDeep, 1);  // equal, no node shared
  EXPECT_EQ(a, b);
  EXPECT_EQ(compare(a, b), 0);
  EXPECT_EQ(a.hash(), b.hash());

  // They differ only at the bottom: the order is the bottoms' order.
  const Value c = map_chain(kDeep, 2);
  EXPECT_NE(a, c);
  EXPECT_EQ(compare(a, c), -1);
  EXPECT_EQ(compare(c, a), 1);

  // A shorter chain is a prefix: (compare ends on the sizes of the maps.)
  const Value shorter = vector_chain(kDeep - 1, 1);
  const Value longer = vector_chain(kDeep, 1);
  EXPECT_NE(shorter, longer);
  EXPECT_EQ(compare(shorter, longer), -compare(longer, shorter));

  const Value m1 = mixed_chain(kDeep);
  const Value m2 = mixed_chain(kDeep);
  EXPECT_EQ(m1, m2);
  EXPECT_EQ(m1.hash(), m2.hash());
}

TEST(EdnDeepValue, HashIsTheSameWhicheverWayItIsComputed) {
  // Shallow enough for plain recursion when hashed from the top, and the
  // same chain with its caches filled from the bottom up.
  const Value top_down = map_chain(400, 1);
  Value bottom_up = 1;
  for (int i = 0; i < 400; ++i) {
    bottom_up = edn::map({{"prev"_kw, bottom_up}, {"n"_kw, i}});
    (void)bottom_up.hash();
  }
  EXPECT_EQ(top_down.hash(), bottom_up.hash());
  // Deeper than the recursion limit: the explicit-stack path agrees too.
  EXPECT_EQ(map_chain(2'000, 1).hash(), [] {
    Value v = 1;
    for (int i = 0; i < 2'000; ++i) {
      v = edn::map({{"prev"_kw, v}, {"n"_kw, i}});
      (void)v.hash();
    }
    return v.hash();
  }());
}

TEST(EdnDeepValue, WritingIsRefusedPastTheLimitAndWorksUpToIt) {
  const Value at_limit = vector_chain(static_cast<int>(edn::max_write_depth) - 1, edn::vec({}));
  ASSERT_EQ(at_limit.depth(), edn::max_write_depth);
  EXPECT_EQ(edn::read(edn::write(at_limit)), at_limit);

  const Value too_deep = edn::vec({at_limit});
  std::string out = "kept";
  try {
    edn::write(too_deep, out);
    FAIL() << "a value deeper than max_write_depth was written";
  } catch (const edn::Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("1001 levels"), std::string::npos) << what;
    EXPECT_NE(what.find("max_write_depth"), std::string::npos) << what;
  }
  EXPECT_EQ(out, "kept") << "nothing appended";
  EXPECT_THROW((void)edn::pretty(too_deep), edn::Error);
  EXPECT_THROW((void)edn::write(vector_chain(kDeep, 1)), edn::Error);
}

// Within max_write_depth the writing thread's stack is the other bound: on a
// small stack the printer stops before it runs out (it crashed the process),
// with an Error that blames the thread, and appends nothing.
TEST(EdnDeepValue, ASmallStackStopsTheWriterWithAnError) {
  const Value deep = mixed_chain(static_cast<int>(edn::max_write_depth));
  ASSERT_EQ(deep.depth(), edn::max_write_depth);
  std::string out = "kept";
  std::string write_error, pretty_error;
  stube::test::run_with_stack(128 * 1024, [&] {
    try {
      edn::write(deep, out);
    } catch (const edn::Error& e) {
      write_error = e.what();
    }
    try {
      (void)edn::pretty(deep, 10);
    } catch (const edn::Error& e) {
      pretty_error = e.what();
    }
  });
  EXPECT_NE(write_error.find("1000 levels deep on this thread: its stack is too small"),
            std::string::npos)
      << write_error;
  EXPECT_EQ(out, "kept") << "nothing appended";
  EXPECT_NE(pretty_error.find("its stack is too small"), std::string::npos) << pretty_error;
  EXPECT_EQ(edn::read(edn::write(deep)), deep);  // this thread's stack holds it
  EXPECT_EQ(edn::read(edn::pretty(deep, 10)), deep);
}

// A stackful coroutine or fiber runs on a stack of its own, whose bounds
// the guard does not know: it is not judged by the thread's (where every
// frame looked past the floor, and writing [1] failed).
ucontext_t fiber_caller;
std::string fiber_result;

void on_the_fiber() {
  try {
    const Value v = mixed_chain(200);
    fiber_result =
        edn::read(edn::write(v)) == v && edn::read(edn::pretty(v)) == v ? "ok" : "differs";
  } catch (const std::exception& e) {
    fiber_result = e.what();
  }
}  // returns to fiber_caller (uc_link)

TEST(EdnDeepValue, AFibersOwnStackIsNotTheThreads) {
  std::vector<char> stack(2 * 1024 * 1024);
  ucontext_t fiber;
  ASSERT_EQ(getcontext(&fiber), 0);
  fiber.uc_stack.ss_sp = stack.data();
  fiber.uc_stack.ss_size = stack.size();
  fiber.uc_link = &fiber_caller;
  makecontext(&fiber, &on_the_fiber, 0);
  fiber_result.clear();
  ASSERT_EQ(swapcontext(&fiber_caller, &fiber), 0);
  EXPECT_EQ(fiber_result, "ok");
}

}  // namespace
