// CPU feature detection and run-time dispatch.
//
// Every SIMD kernel exists in a scalar version (always compiled, the
// reference) and, where it pays, AVX2+FMA+F16C and AVX-512F versions compiled
// per function with GCC/Clang `target` attributes. Nothing in the build uses
// -march: the binary runs on any x86-64 (and non-x86) CPU. `active_isa()` is
// the best level the CPU supports, capped by `set_isa_cap` or by the
// DISTILLSCOPE_ISA environment variable (scalar|avx2|avx512) read once at
// first use, so tests can force every path on one machine.
#pragma once
#include <string>

namespace ds {

enum class Isa : int { scalar = 0, avx2 = 1, avx512 = 2 };

Isa detected_isa() noexcept;
Isa active_isa() noexcept;
// Caps the level used from now on. Throws std::invalid_argument for a level
// the CPU lacks.
void set_isa_cap(Isa cap);
const char* isa_name(Isa isa) noexcept;
// Parses "scalar" | "avx2" | "avx512" (throws std::invalid_argument otherwise).
Isa parse_isa(const std::string& name);

}  // namespace ds

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define DS_X86 1
#define DS_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define DS_TARGET_AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))
#else
#define DS_X86 0
#endif
