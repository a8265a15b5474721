#include <cstdio>

#include "harness.hpp"

int main() {
  int failed = 0, passed = 0;
  for (const auto& c : dstest::cases()) {
    try {
      c.fn();
      ++passed;
    } catch (const std::exception& e) {
      ++failed;
      std::printf("FAIL %s: %s\n", c.name, e.what());
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
