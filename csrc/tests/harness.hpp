// A minimal self-registering test harness for the plain C++ kernels, so the
// kernels can be tested (and run under ASan/UBSan) without Python.
#pragma once
#include <cmath>
#include <cstdio>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace dstest {

struct Case {
  const char* name;
  std::function<void()> fn;
};
inline std::vector<Case>& cases() {
  static std::vector<Case> c;
  return c;
}
struct Add {
  Add(const char* n, std::function<void()> f) { cases().push_back({n, std::move(f)}); }
};
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace dstest

#define DS_CAT2(a, b) a##b
#define DS_CAT(a, b) DS_CAT2(a, b)
#define DS_TEST(name)                                                   \
  static void name();                                                   \
  static const dstest::Add DS_CAT(ds_add_, name)(#name, name);          \
  static void name()

#define DS_CHECK(cond)                                                                                         \
  do {                                                                                                         \
    if (!(cond)) throw dstest::Failure(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #cond); \
  } while (0)

#define DS_CHECK_NEAR(a, b, tol)                                                                          \
  do {                                                                                                    \
    const double ds_a_ = (a), ds_b_ = (b);                                                                \
    if (!(std::fabs(ds_a_ - ds_b_) <= (tol)))                                                             \
      throw dstest::Failure(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " #a " = " +     \
                            std::to_string(ds_a_) + " vs " #b " = " + std::to_string(ds_b_));            \
  } while (0)

#define DS_CHECK_THROWS(expr, Exc)                  \
  do {                                              \
    bool ds_thrown_ = false;                        \
    try {                                           \
      (void)(expr);                                 \
    } catch (const Exc&) {                          \
      ds_thrown_ = true;                            \
    }                                               \
    DS_CHECK(ds_thrown_ && "expected " #Exc);       \
  } while (0)
