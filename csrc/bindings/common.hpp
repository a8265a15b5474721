// Shared binding helpers: argument checks that raise the right Python
// exception with the fix in the message, and zero-copy array access.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "dense.hpp"
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

// Two CSR-grouped row sets (a rows in group g against b rows in group g):
// dtype, shape and offsets checked once for every grouped kernel.
struct GroupedArgs {
  py::array_t<float> a, b;
  py::array_t<std::int64_t> a_off, b_off;
  std::size_t groups, dim;
};

inline GroupedArgs grouped_args(const py::array& a, const py::array& a_off, const py::array& b,
                                const py::array& b_off) {
  GroupedArgs g{require<float>(a, "a", 2), require<float>(b, "b", 2), require<std::int64_t>(a_off, "a_offsets", 1),
                require<std::int64_t>(b_off, "b_offsets", 1), 0, 0};
  if (g.a.shape(1) != g.b.shape(1))
    throw py::value_error("a and b must have the same number of columns; got " + shape_str(a) + " and " +
                          shape_str(b));
  if (g.a_off.shape(0) < 1 || g.a_off.shape(0) != g.b_off.shape(0))
    throw py::value_error("a_offsets and b_offsets must both have length G+1 >= 1; got " +
                          std::to_string(g.a_off.shape(0)) + " and " + std::to_string(g.b_off.shape(0)));
  g.groups = static_cast<std::size_t>(g.a_off.shape(0) - 1);
  g.dim = static_cast<std::size_t>(g.a.shape(1));
  ds::validate_offsets(g.a_off.data(), g.groups, static_cast<std::size_t>(g.a.shape(0)), "a_offsets");
  ds::validate_offsets(g.b_off.data(), g.groups, static_cast<std::size_t>(g.b.shape(0)), "b_offsets");
  return g;
}

}  // namespace ds::py_helpers
