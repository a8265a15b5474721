// distillscope._core: the compiled kernels. One register_<area>() per area;
// the kernels themselves live in csrc/kernels and know nothing of Python.
#include <pybind11/pybind11.h>

#include "register.hpp"

#ifndef DISTILLSCOPE_VERSION
#define DISTILLSCOPE_VERSION "dev"
#endif

PYBIND11_MODULE(_core, m) {
  m.doc() = "distillscope native kernels (use the wrappers in distillscope, not this module)";
  m.attr("__version__") = DISTILLSCOPE_VERSION;
  for (auto reg : ds::registry()) reg(m);
}
