#include <string>

#include "align.hpp"
#include "common.hpp"
#include "dense.hpp"
#include "register.hpp"

namespace py = pybind11;
using namespace ds::py_helpers;

namespace {

const float* weights_arg(const py::object& w, const char* name, py::ssize_t rows, py::array_t<float>& keep) {
  if (w.is_none()) return nullptr;
  keep = require<float>(py::reinterpret_borrow<py::array>(w), name, 1);
  if (keep.shape(0) != rows)
    throw py::value_error(std::string(name) + " must have one weight per row (" + std::to_string(rows) + "), got " +
                          std::to_string(keep.shape(0)));
  return keep.data();
}

py::tuple align_grouped(const py::array& a, const py::array& a_off, const py::array& b, const py::array& b_off,
                        const py::object& a_weights, const py::object& b_weights, float threshold, int workers) {
  const int w = workers_arg(workers);
  const GroupedArgs g = grouped_args(a, a_off, b, b_off);
  const auto& A = g.a;
  const auto& B = g.b;
  const std::size_t groups = g.groups;
  py::array_t<float> keep_a, keep_b;
  const float* pwa = weights_arg(a_weights, "a_weights", A.shape(0), keep_a);
  const float* pwb = weights_arg(b_weights, "b_weights", B.shape(0), keep_b);
  const auto G = static_cast<py::ssize_t>(groups);
  py::array_t<float> p(G), r(G), f(G), o(G), c(G);
  ds::AlignOutputs out{p.mutable_data(), r.mutable_data(), f.mutable_data(), o.mutable_data(), c.mutable_data()};
  const float *pa = A.data(), *pb = B.data();
  const std::int64_t *pao = g.a_off.data(), *pbo = g.b_off.data();
  const std::size_t d = g.dim;
  {
    py::gil_scoped_release nogil;
    ds::align_grouped_f32(pa, pao, pwa, pb, pbo, pwb, groups, d, threshold, out, w);
  }
  return py::make_tuple(p, r, f, o, c);
}

void register_align(py::module_& m) {
  m.def("align_grouped", &align_grouped, py::arg("a"), py::arg("a_offsets"), py::arg("b"), py::arg("b_offsets"),
        py::kw_only(), py::arg("a_weights") = py::none(), py::arg("b_weights") = py::none(),
        py::arg("threshold") = 0.5f, py::arg("workers") = 1);
}

const ds::Registrar reg_align(register_align);

}  // namespace
