#include "cpu.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

#if DS_X86
#include <cpuid.h>
#endif

namespace ds {
namespace {

Isa detect() noexcept {
#if DS_X86
  __builtin_cpu_init();
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  bool f16c = false;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) f16c = (ecx >> 29) & 1u;
  // __builtin_cpu_supports also checks that the OS saves the wide registers.
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
  if (avx2 && __builtin_cpu_supports("avx512f")) return Isa::avx512;
  if (avx2) return Isa::avx2;
#endif
  return Isa::scalar;
}

int initial_cap() noexcept {
  const char* env = std::getenv("DISTILLSCOPE_ISA");
  if (env == nullptr || *env == '\0') return static_cast<int>(Isa::avx512);
  try {
    return static_cast<int>(parse_isa(env));
  } catch (...) {
    return static_cast<int>(Isa::avx512);  // unknown value: ignored, Python warns
  }
}

std::atomic<int>& cap_ref() noexcept {
  static std::atomic<int> cap{initial_cap()};
  return cap;
}

}  // namespace

Isa detected_isa() noexcept {
  static const Isa isa = detect();
  return isa;
}

Isa active_isa() noexcept {
  const int cap = cap_ref().load(std::memory_order_relaxed);
  const int det = static_cast<int>(detected_isa());
  return static_cast<Isa>(cap < det ? cap : det);
}

void set_isa_cap(Isa cap) {
  if (static_cast<int>(cap) > static_cast<int>(detected_isa())) {
    throw std::invalid_argument(std::string("this CPU does not support ") + isa_name(cap) +
                                "; the best available is " + isa_name(detected_isa()));
  }
  cap_ref().store(static_cast<int>(cap), std::memory_order_relaxed);
}

const char* isa_name(Isa isa) noexcept {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "scalar";
  }
}

Isa parse_isa(const std::string& name) {
  if (name == "scalar") return Isa::scalar;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  throw std::invalid_argument("unknown ISA '" + name + "'; use 'scalar', 'avx2' or 'avx512'");
}

}  // namespace ds
