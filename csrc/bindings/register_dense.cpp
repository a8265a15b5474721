#include <string>

#include "common.hpp"
#include "cpu.hpp"
#include "dense.hpp"
#include "register.hpp"

namespace py = pybind11;
using namespace ds::py_helpers;

namespace {

void check_same_shape(const py::array& a, const py::array& b) {
  if (a.ndim() != 2 || b.ndim() != 2 || a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1))
    throw py::value_error("a and b must be 2-D arrays of the same shape (N, D); got " + shape_str(a) + " and " +
                          shape_str(b));
}

py::array_t<float> cosine_paired(const py::array& a, const py::array& b, int workers) {
  check_same_shape(a, b);
  const int w = workers_arg(workers);
  const auto n = static_cast<std::size_t>(a.shape(0)), d = static_cast<std::size_t>(a.shape(1));
  py::array_t<float> out(static_cast<py::ssize_t>(n));
  float* o = out.mutable_data();
  if (a.dtype().is(py::dtype::of<float>())) {
    auto A = require<float>(a, "a", 2), B = require<float>(b, "b", 2);
    const float *pa = A.data(), *pb = B.data();
    py::gil_scoped_release nogil;
    ds::cosine_paired_f32(pa, pb, n, d, o, w);
  } else if (a.dtype().kind() == 'f' && a.dtype().itemsize() == 2) {
    if (!(b.dtype().kind() == 'f' && b.dtype().itemsize() == 2))
      throw py::type_error("a and b must have the same dtype (float32 or float16)");
    if (!(a.flags() & py::array::c_style) || !(b.flags() & py::array::c_style))
      throw py::value_error("a and b must be C-contiguous; pass np.ascontiguousarray(...)");
    const auto* pa = static_cast<const std::uint16_t*>(a.data());
    const auto* pb = static_cast<const std::uint16_t*>(b.data());
    py::gil_scoped_release nogil;
    ds::cosine_paired_f16(pa, pb, n, d, o, w);
  } else {
    throw py::type_error("cosine_paired takes float32 or float16 arrays, got " + std::string(py::str(a.dtype())));
  }
  return out;
}

ds::GroupReduce parse_reduce(const std::string& r) {
  if (r == "mean") return ds::GroupReduce::mean;
  if (r == "max") return ds::GroupReduce::max;
  if (r == "precision") return ds::GroupReduce::precision;
  if (r == "recall") return ds::GroupReduce::recall;
  if (r == "f1") return ds::GroupReduce::f1;
  if (r == "matched") return ds::GroupReduce::matched;
  throw py::value_error("reduce must be one of 'mean', 'max', 'precision', 'recall', 'f1', 'matched'; got '" + r +
                        "'");
}

py::array_t<float> cosine_grouped(const py::array& a, const py::array& a_off, const py::array& b,
                                  const py::array& b_off, const std::string& reduce, int workers) {
  const auto red = parse_reduce(reduce);
  const int w = workers_arg(workers);
  const GroupedArgs g = grouped_args(a, a_off, b, b_off);
  py::array_t<float> out(static_cast<py::ssize_t>(g.groups));
  float* o = out.mutable_data();
  const float *pa = g.a.data(), *pb = g.b.data();
  const std::int64_t *pao = g.a_off.data(), *pbo = g.b_off.data();
  const std::size_t groups = g.groups, d = g.dim;
  {
    py::gil_scoped_release nogil;
    ds::cosine_grouped_f32(pa, pao, pb, pbo, groups, d, red, o, w);
  }
  return out;
}

py::tuple cosine_topk(const py::array& q, const py::array& c, py::ssize_t k, int workers) {
  auto Q = require<float>(q, "queries", 2), C = require<float>(c, "corpus", 2);
  if (Q.shape(1) != C.shape(1))
    throw py::value_error("queries and corpus must have the same number of columns; got " + shape_str(q) + " and " +
                          shape_str(c));
  if (k < 1 || k > C.shape(0))
    throw py::value_error("k must be between 1 and the corpus size (" + std::to_string(C.shape(0)) + "), got " +
                          std::to_string(k));
  const int w = workers_arg(workers);
  const auto nq = static_cast<std::size_t>(Q.shape(0)), nc = static_cast<std::size_t>(C.shape(0));
  const auto d = static_cast<std::size_t>(Q.shape(1));
  py::array_t<float> scores({Q.shape(0), k});
  py::array_t<std::int64_t> idx({Q.shape(0), k});
  float* ps = scores.mutable_data();
  std::int64_t* pi = idx.mutable_data();
  const float *pq = Q.data(), *pc = C.data();
  {
    py::gil_scoped_release nogil;
    ds::cosine_topk_f32(pq, nq, pc, nc, d, static_cast<std::size_t>(k), ps, pi, w);
  }
  return py::make_tuple(scores, idx);
}

py::array_t<float> l2_normalize(const py::array& x, int workers) {
  auto X = require<float>(x, "x", 2);
  const int w = workers_arg(workers);
  py::array_t<float> out({X.shape(0), X.shape(1)});
  float* o = out.mutable_data();
  const float* px = X.data();
  const auto n = static_cast<std::size_t>(X.shape(0)), d = static_cast<std::size_t>(X.shape(1));
  {
    py::gil_scoped_release nogil;
    ds::l2_normalize_f32(px, n, d, o, w);
  }
  return out;
}

void register_dense(py::module_& m) {
  m.def("detected_isa", [] { return std::string(ds::isa_name(ds::detected_isa())); });
  m.def("active_isa", [] { return std::string(ds::isa_name(ds::active_isa())); });
  m.def("set_isa_cap", [](const std::string& name) { ds::set_isa_cap(ds::parse_isa(name)); }, py::arg("isa"));
  m.def("cosine_paired", &cosine_paired, py::arg("a"), py::arg("b"), py::kw_only(), py::arg("workers") = 1);
  m.def("cosine_grouped", &cosine_grouped, py::arg("a"), py::arg("a_offsets"), py::arg("b"), py::arg("b_offsets"),
        py::kw_only(), py::arg("reduce") = "mean", py::arg("workers") = 1);
  m.def("cosine_topk", &cosine_topk, py::arg("queries"), py::arg("corpus"), py::arg("k"), py::kw_only(),
        py::arg("workers") = 1);
  m.def("l2_normalize", &l2_normalize, py::arg("x"), py::kw_only(), py::arg("workers") = 1);
}

const ds::Registrar reg_dense(register_dense);

}  // namespace
