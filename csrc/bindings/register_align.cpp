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
  auto A = require<float>(a, "a", 2), B = require<float>(b, "b", 2);
  auto AO = require<std::int64_t>(a_off, "a_offsets", 1), BO = require<std::int64_t>(b_off, "b_offsets", 1);
  if (A.shape(1) != B.shape(1))
    throw py::value_error("a and b must have the same number of columns; got " + shape_str(a) + " and " +
                          shape_str(b));
  if (AO.shape(0) < 1 || AO.shape(0) != BO.shape(0))
    throw py::value_error("a_offsets and b_offsets must both have length G+1 >= 1; got " +
                          std::to_string(AO.shape(0)) + " and " + std::to_string(BO.shape(0)));
  const int w = workers_arg(workers);
  const auto groups = static_cast<std::size_t>(AO.shape(0) - 1);
  ds::validate_offsets(AO.data(), groups, static_cast<std::size_t>(A.shape(0)), "a_offsets");
  ds::validate_offsets(BO.data(), groups, static_cast<std::size_t>(B.shape(0)), "b_offsets");
  py::array_t<float> keep_a, keep_b;
  const float* pwa = weights_arg(a_weights, "a_weights", A.shape(0), keep_a);
  const float* pwb = weights_arg(b_weights, "b_weights", B.shape(0), keep_b);
  const auto G = static_cast<py::ssize_t>(groups);
  py::array_t<float> p(G), r(G), f(G), o(G), c(G);
  ds::AlignOutputs out{p.mutable_data(), r.mutable_data(), f.mutable_data(), o.mutable_data(), c.mutable_data()};
  const float *pa = A.data(), *pb = B.data();
  const std::int64_t *pao = AO.data(), *pbo = BO.data();
  const auto d = static_cast<std::size_t>(A.shape(1));
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
