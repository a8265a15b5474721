// Each register_<area>.cpp adds itself to this list with a static
// Registrar, so areas are added without editing module.cpp.
#pragma once
#include <pybind11/pybind11.h>

#include <vector>

namespace ds {
using RegisterFn = void (*)(pybind11::module_&);
inline std::vector<RegisterFn>& registry() {
  static std::vector<RegisterFn> fns;
  return fns;
}
struct Registrar {
  explicit Registrar(RegisterFn fn) { registry().push_back(fn); }
};
}  // namespace ds
