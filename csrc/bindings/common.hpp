// Shared binding helpers: argument checks that raise the right Python
// exception with the fix in the message, and zero-copy array access.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "parallel.hpp"

namespace ds::py_helpers {
namespace py = pybind11;

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    if (i) s += ", ";
    s += std::to_string(a.shape(i));
  }
  if (a.ndim() == 1) s += ",";
  return s + ")";
}

// Requires a C-contiguous array of exactly dtype T (no silent copies here;
// the Python layer decides where a copy is acceptable).
template <class T>
py::array_t<T> require(const py::array& a, const char* name, py::ssize_t ndim) {
  if (!py::isinstance<py::array_t<T>>(a) || !a.dtype().is(py::dtype::of<T>()))
    throw py::type_error(std::string(name) + " must have dtype " + std::string(py::str(py::dtype::of<T>())) +
                         ", got " + std::string(py::str(a.dtype())));
  if (a.ndim() != ndim)
    throw py::value_error(std::string(name) + " must be " + std::to_string(ndim) + "-D, got shape " + shape_str(a));
  if (!(a.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be C-contiguous; pass np.ascontiguousarray(" + name + ")");
  return py::reinterpret_borrow<py::array_t<T>>(a);
}

inline int workers_arg(int workers) { return ds::resolve_workers(workers); }

}  // namespace ds::py_helpers
