// Text kernels: tokenizers and n-gram / LCS / BLEU / chrF scoring.
// Strings are read as UTF-8 under the GIL (PyUnicode_AsUTF8AndSize: no copy
// for ASCII strings), each row held by a tuple we own, then the whole batch
// runs with the GIL released.
#include <string>
#include <vector>

#include "common.hpp"
#include "register.hpp"
#include "text_bleu_multi.hpp"
#include "text_lcs_summary.hpp"
#include "text_ngram.hpp"

namespace py = pybind11;
using namespace ds::py_helpers;

namespace {

struct TextRows {
  py::object keep;  // tuple holding a reference to every row
  std::vector<const char*> ptr;
  std::vector<std::int64_t> len;
};

TextRows read_texts(const py::handle& seq, const char* name) {
  if (PyUnicode_Check(seq.ptr()) || PyBytes_Check(seq.ptr()))
    throw py::type_error(std::string(name) + " must be a sequence of strings, not a single " +
                         (PyUnicode_Check(seq.ptr()) ? "str" : "bytes") + "; wrap it in a list: [" + name + "]");
  PyObject* tup = PySequence_Tuple(seq.ptr());
  if (!tup) {
    PyErr_Clear();
    throw py::type_error(std::string(name) + " must be a sequence (list, tuple, numpy array) of str; got " +
                         std::string(py::str(py::type::handle_of(seq).attr("__name__"))));
  }
  TextRows rows;
  rows.keep = py::reinterpret_steal<py::object>(tup);
  const Py_ssize_t n = PyTuple_GET_SIZE(tup);
  rows.ptr.resize(static_cast<std::size_t>(n));
  rows.len.resize(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* item = PyTuple_GET_ITEM(tup, i);
    const std::string where = std::string(name) + "[" + std::to_string(i) + "]";
    if (PyUnicode_Check(item)) {
      Py_ssize_t size = 0;
      const char* p = PyUnicode_AsUTF8AndSize(item, &size);
      if (!p) {
        PyErr_Clear();
        throw py::value_error(where +
                              " cannot be encoded as UTF-8 (it contains a lone surrogate); clean it with "
                              "s.encode('utf-8', 'replace').decode('utf-8')");
      }
      rows.ptr[static_cast<std::size_t>(i)] = p;
      rows.len[static_cast<std::size_t>(i)] = size;
    } else if (PyBytes_Check(item)) {
      char* p = nullptr;
      Py_ssize_t size = 0;
      PyBytes_AsStringAndSize(item, &p, &size);
      const std::size_t bad = ds::text::find_invalid_utf8(p, static_cast<std::size_t>(size));
      if (bad != static_cast<std::size_t>(size))
        throw py::value_error(where + " is not valid UTF-8 (invalid byte at offset " + std::to_string(bad) +
                              "); decode it with errors='replace' first");
      rows.ptr[static_cast<std::size_t>(i)] = p;
      rows.len[static_cast<std::size_t>(i)] = size;
    } else if (item == Py_None) {
      throw py::type_error(where + " is None; replace missing texts with \"\" (e.g. [t or \"\" for t in texts])");
    } else {
      throw py::type_error(where + " must be str (or UTF-8 bytes), got " +
                           std::string(Py_TYPE(item)->tp_name));
    }
  }
  return rows;
}

ds::text::Tokenizer parse_tokenizer(const std::string& t) {
  if (t == "rouge") return ds::text::Tokenizer::rouge;
  if (t == "13a") return ds::text::Tokenizer::t13a;
  if (t == "unicode") return ds::text::Tokenizer::unicode;
  if (t == "whitespace" || t == "none") return ds::text::Tokenizer::whitespace;
  throw py::value_error("tokenizer must be one of 'unicode', 'rouge', '13a', 'whitespace'; got '" + t + "'");
}

ds::text::Smooth parse_smooth(const std::string& s) {
  if (s == "exp") return ds::text::Smooth::exp;
  if (s == "floor") return ds::text::Smooth::floor;
  if (s == "add-k") return ds::text::Smooth::add_k;
  if (s == "none") return ds::text::Smooth::none;
  throw py::value_error("smooth_method must be one of 'exp', 'floor', 'add-k', 'none'; got '" + s + "'");
}

py::tuple text_tokenize(const py::object& texts, const std::string& tokenizer, int workers, bool with_strings) {
  const auto tok = parse_tokenizer(tokenizer);
  const int w = workers_arg(workers);
  TextRows rows = read_texts(texts, "texts");
  std::vector<std::uint64_t> ids;
  std::vector<std::int64_t> offsets, soff;
  std::string strs;
  {
    py::gil_scoped_release nogil;
    ds::text::tokenize_batch(rows.ptr.data(), rows.len.data(), rows.ptr.size(), tok, w, ids, offsets,
                             with_strings ? &strs : nullptr, with_strings ? &soff : nullptr);
  }
  py::array_t<std::uint64_t> a_ids(static_cast<py::ssize_t>(ids.size()));
  std::copy(ids.begin(), ids.end(), a_ids.mutable_data());
  py::array_t<std::int64_t> a_off(static_cast<py::ssize_t>(offsets.size()));
  std::copy(offsets.begin(), offsets.end(), a_off.mutable_data());
  if (!with_strings) return py::make_tuple(a_ids, a_off);
  py::array_t<std::int64_t> a_soff(static_cast<py::ssize_t>(soff.size()));
  std::copy(soff.begin(), soff.end(), a_soff.mutable_data());
  return py::make_tuple(a_ids, a_off, py::bytes(strs), a_soff);
}

struct IdRows {
  py::array_t<std::uint64_t> values;
  py::array_t<std::int64_t> offsets;
};

IdRows read_ids(const py::tuple& t, const char* name) {
  if (t.size() != 2) throw py::value_error(std::string(name) + " ids must be a (values, offsets) pair");
  IdRows r{require<std::uint64_t>(t[0], name, 1), require<std::int64_t>(t[1], name, 1)};
  return r;
}

// BLEU statistics against several reference streams (sacrebleu's multi-reference clipping).
py::array_t<std::int64_t> text_bleu_multi_stats(const py::array& hyp_ids, const py::array& hyp_offsets,
                                                const py::list& ref_ids, const py::list& ref_offsets,
                                                const py::object& present, int order, int workers) {
  const int w = workers_arg(workers);
  if (order < 1 || order > 64) throw py::value_error("order must be between 1 and 64; got " + std::to_string(order));
  auto hv = require<std::uint64_t>(hyp_ids, "hyp_ids", 1);
  auto ho = require<std::int64_t>(hyp_offsets, "hyp_offsets", 1);
  if (ho.shape(0) < 1) throw py::value_error("hyp_offsets must have n + 1 entries (start with 0)");
  const auto n = static_cast<std::size_t>(ho.shape(0) - 1);
  const std::size_t k = ref_ids.size();
  if (k < 1 || ref_offsets.size() != k)
    throw py::value_error("ref_ids and ref_offsets must be lists of the same length (one entry per stream, >= 1)");
  auto check_csr = [](const std::int64_t* off, std::size_t rows, std::size_t values, const std::string& name) {
    if (off[0] != 0 || static_cast<std::size_t>(off[rows]) != values)
      throw py::value_error(name + " must start at 0 and end at the number of ids");
    for (std::size_t i = 0; i < rows; ++i)
      if (off[i + 1] < off[i]) throw py::value_error(name + " must be non-decreasing");
  };
  check_csr(ho.data(), n, static_cast<std::size_t>(hv.shape(0)), "hyp_offsets");
  std::vector<py::array_t<std::uint64_t>> keep_ids;
  std::vector<py::array_t<std::int64_t>> keep_off;
  py::array_t<std::uint8_t> mask;
  if (!present.is_none()) {
    mask = require<std::uint8_t>(present.cast<py::array>(), "present", 2);
    if (static_cast<std::size_t>(mask.shape(0)) != k || static_cast<std::size_t>(mask.shape(1)) != n)
      throw py::value_error("present must have shape (streams, n) = (" + std::to_string(k) + ", " +
                            std::to_string(n) + "), got " + shape_str(mask));
  }
  std::vector<ds::text::IdStream> streams(k);
  for (std::size_t s = 0; s < k; ++s) {
    const std::string name = "ref_offsets[" + std::to_string(s) + "]";
    keep_ids.push_back(require<std::uint64_t>(ref_ids[s].cast<py::array>(), "ref_ids[]", 1));
    keep_off.push_back(require<std::int64_t>(ref_offsets[s].cast<py::array>(), name.c_str(), 1));
    if (static_cast<std::size_t>(keep_off.back().shape(0)) != n + 1)
      throw py::value_error(name + " must have n + 1 = " + std::to_string(n + 1) + " entries");
    check_csr(keep_off.back().data(), n, static_cast<std::size_t>(keep_ids.back().shape(0)), name);
    streams[s] = {keep_ids.back().data(), keep_off.back().data(),
                  present.is_none() ? nullptr : mask.data() + s * n};
  }
  py::array_t<std::int64_t> out({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(2 + 2 * order)});
  {
    py::gil_scoped_release nogil;
    ds::text::bleu_multi_ref_stats(hv.data(), ho.data(), n, streams, order, out.mutable_data(), w);
  }
  return out;
}

py::dict text_lexical(const py::object& cands, const py::object& refs, const std::string& tokenizer, int word_n,
                      bool distinct, bool lcs, int chrf_char_order, int chrf_word_order, double chrf_beta,
                      bool chrf_eps_smoothing, bool chrf_whitespace, bool bleu, int bleu_order,
                      const std::string& smooth, double smooth_value, bool effective_order, int workers) {
  ds::text::LexicalParams p;
  p.tok = parse_tokenizer(tokenizer);
  if (word_n < 0 || word_n > 64) throw py::value_error("n-gram order must be between 1 and 64; got " + std::to_string(word_n));
  if (bleu_order < 1 || bleu_order > 64) throw py::value_error("max_ngram_order must be between 1 and 64");
  if (chrf_char_order < 0 || chrf_word_order < 0 || chrf_char_order + chrf_word_order > 64)
    throw py::value_error("char_order and word_order must be >= 0 and sum to at most 64");
  p.word_n = word_n;
  p.distinct = distinct;
  p.lcs = lcs;
  p.chrf_char_order = chrf_char_order;
  p.chrf_word_order = chrf_word_order;
  p.chrf_beta = chrf_beta;
  p.chrf_eps_smoothing = chrf_eps_smoothing;
  p.chrf_whitespace = chrf_whitespace;
  p.bleu = bleu;
  p.bleu_order = bleu_order;
  p.smooth = parse_smooth(smooth);
  p.smooth_value = smooth_value;
  p.effective_order = effective_order;
  const int w = workers_arg(workers);
  const bool ids_mode = py::isinstance<py::tuple>(cands) && py::isinstance<py::tuple>(refs) &&
                        py::len(cands) == 2 && py::isinstance<py::array>(py::tuple(cands)[0]);
  ds::text::Side cs, rs;
  TextRows ct, rt;
  IdRows ci, ri;
  std::size_t n = 0;
  if (ids_mode) {
    ci = read_ids(py::tuple(cands), "candidates");
    ri = read_ids(py::tuple(refs), "references");
    const auto nc = static_cast<std::size_t>(ci.offsets.shape(0)), nr = static_cast<std::size_t>(ri.offsets.shape(0));
    if (nc < 1 || nr < 1) throw py::value_error("offsets must have length n_rows + 1 >= 1");
    if (nc != nr)
      throw py::value_error("candidates and references must have the same number of rows; got " +
                            std::to_string(nc - 1) + " and " + std::to_string(nr - 1));
    n = nc - 1;
    for (auto* r : {&ci, &ri}) {
      const std::int64_t* o = r->offsets.data();
      const auto nv = static_cast<std::int64_t>(r->values.shape(0));
      if (o[0] != 0 || o[n] != nv) throw py::value_error("offsets must start at 0 and end at len(values)");
      for (std::size_t i = 0; i < n; ++i)
        if (o[i + 1] < o[i]) throw py::value_error("offsets must be non-decreasing");
    }
    if (chrf_char_order + chrf_word_order > 0)
      throw py::value_error("chrF is defined on characters: pass texts, not pre-tokenized ids");
    cs.ids = ci.values.data();
    cs.ids_off = ci.offsets.data();
    rs.ids = ri.values.data();
    rs.ids_off = ri.offsets.data();
  } else {
    ct = read_texts(cands, "candidates");
    rt = read_texts(refs, "references");
    if (ct.ptr.size() != rt.ptr.size())
      throw py::value_error("candidates and references must have the same length; got " +
                            std::to_string(ct.ptr.size()) + " and " + std::to_string(rt.ptr.size()));
    n = ct.ptr.size();
    cs.text = ct.ptr.data();
    cs.text_len = ct.len.data();
    rs.text = rt.ptr.data();
    rs.text_len = rt.len.data();
  }
  const auto N = static_cast<py::ssize_t>(n);
  py::dict d;
  ds::text::LexicalOutputs o;
  if (word_n > 0 || lcs || bleu) {  // token counts (only when tokenizing at all)
    py::array_t<std::int64_t> cl(N), rl(N);
    o.cand_len = cl.mutable_data();
    o.ref_len = rl.mutable_data();
    d["cand_len"] = cl;
    d["ref_len"] = rl;
  }
  if (word_n > 0) {
    py::array_t<std::int64_t> g({N, static_cast<py::ssize_t>(word_n), py::ssize_t{3}});
    o.ngram = g.mutable_data();
    d["ngram"] = g;
    if (distinct) {
      py::array_t<std::int64_t> ds_({N, static_cast<py::ssize_t>(word_n), py::ssize_t{3}});
      o.distinct = ds_.mutable_data();
      d["distinct"] = ds_;
    }
  }
  if (lcs) {
    py::array_t<std::int64_t> a(N);
    o.lcs = a.mutable_data();
    d["lcs"] = a;
  }
  if (chrf_char_order + chrf_word_order > 0) {
    py::array_t<double> a(N);
    o.chrf = a.mutable_data();
    d["chrf"] = a;
    py::array_t<std::int64_t> st({N, static_cast<py::ssize_t>(chrf_char_order + chrf_word_order), py::ssize_t{3}});
    o.chrf_stats = st.mutable_data();
    d["chrf_stats"] = st;
  }
  if (bleu) {
    py::array_t<double> a(N), b(N);
    o.bleu = a.mutable_data();
    o.bleu_bp = b.mutable_data();
    d["bleu"] = a;
    d["bleu_bp"] = b;
  }
  {
    py::gil_scoped_release nogil;
    ds::text::lexical_batch(cs, rs, n, p, o, w);
  }
  return d;
}

void check_csr(const std::int64_t* off, std::size_t len, std::int64_t end, const char* name) {
  if (len < 1 || off[0] != 0 || off[len - 1] != end)
    throw py::value_error(std::string(name) + " must start at 0 and end at " + std::to_string(end));
  for (std::size_t i = 1; i < len; ++i)
    if (off[i] < off[i - 1]) throw py::value_error(std::string(name) + " must be non-decreasing");
}

py::array_t<std::int64_t> text_lcs_summary_hits(const py::array& ref_ids, const py::array& ref_sent_off,
                                                const py::array& ref_pair_off, const py::array& cand_ids,
                                                const py::array& cand_sent_off, const py::array& cand_pair_off,
                                                int workers) {
  auto rv = require<std::uint64_t>(ref_ids, "ref_ids", 1), cv = require<std::uint64_t>(cand_ids, "cand_ids", 1);
  auto rs = require<std::int64_t>(ref_sent_off, "ref_sent_off", 1);
  auto cs = require<std::int64_t>(cand_sent_off, "cand_sent_off", 1);
  auto rp = require<std::int64_t>(ref_pair_off, "ref_pair_off", 1);
  auto cp = require<std::int64_t>(cand_pair_off, "cand_pair_off", 1);
  const int w = workers_arg(workers);
  check_csr(rs.data(), static_cast<std::size_t>(rs.shape(0)), rv.shape(0), "ref_sent_off");
  check_csr(cs.data(), static_cast<std::size_t>(cs.shape(0)), cv.shape(0), "cand_sent_off");
  check_csr(rp.data(), static_cast<std::size_t>(rp.shape(0)), rs.shape(0) - 1, "ref_pair_off");
  check_csr(cp.data(), static_cast<std::size_t>(cp.shape(0)), cs.shape(0) - 1, "cand_pair_off");
  if (rp.shape(0) != cp.shape(0))
    throw py::value_error("ref_pair_off and cand_pair_off must have the same length (pairs + 1)");
  const auto n = static_cast<std::size_t>(rp.shape(0) - 1);
  py::array_t<std::int64_t> out(static_cast<py::ssize_t>(n));
  std::int64_t* o = out.mutable_data();
  {
    py::gil_scoped_release nogil;
    ds::text::lcs_summary_hits(rv.data(), rs.data(), rp.data(), cv.data(), cs.data(), cp.data(), n, o, w);
  }
  return out;
}

void register_text(py::module_& m) {
  m.def("text_lcs_summary_hits", &text_lcs_summary_hits, py::arg("ref_ids"), py::arg("ref_sent_off"),
        py::arg("ref_pair_off"), py::arg("cand_ids"), py::arg("cand_sent_off"), py::arg("cand_pair_off"),
        py::arg("workers") = 1, "Summary-level LCS hits per pair (ROUGE-Lsum) over sentence-split token ids.");
  m.def("text_tokenize", &text_tokenize, py::arg("texts"), py::arg("tokenizer"), py::arg("workers") = 1,
        py::arg("with_strings") = false,
        "Tokenize texts into stable 64-bit ids: (ids, offsets[, utf8_bytes, string_offsets]).");
  m.def("text_lexical", &text_lexical, py::arg("candidates"), py::arg("references"), py::arg("tokenizer"),
        py::arg("word_n"), py::arg("distinct"), py::arg("lcs"), py::arg("chrf_char_order"),
        py::arg("chrf_word_order"), py::arg("chrf_beta"), py::arg("chrf_eps_smoothing"),
        py::arg("chrf_whitespace"), py::arg("bleu"), py::arg("bleu_order"), py::arg("smooth"),
        py::arg("smooth_value"), py::arg("effective_order"), py::arg("workers") = 1,
        "Per-pair n-gram statistics, LCS, chrF and BLEU for a batch (see distillscope.lexical).");
  m.def(
      "text_bleu_from_stats",
      [](py::array_t<std::int64_t, py::array::c_style> correct, py::array_t<std::int64_t, py::array::c_style> total,
         std::int64_t sys_len, std::int64_t ref_len, const std::string& smooth, double smooth_value,
         bool effective_order) {
        if (correct.ndim() != 1 || total.ndim() != 1 || correct.shape(0) != total.shape(0) || correct.shape(0) < 1 ||
            correct.shape(0) > 64)
          throw py::value_error("correct and total must be 1-D int64 arrays of the same length (1..64)");
        double bp = 0.0;
        const double b = ds::text::bleu_from_stats(correct.data(), total.data(), static_cast<int>(correct.shape(0)),
                                                   sys_len, ref_len, parse_smooth(smooth), smooth_value,
                                                   effective_order, &bp);
        return py::make_tuple(b, bp);
      },
      py::arg("correct"), py::arg("total"), py::arg("sys_len"), py::arg("ref_len"), py::arg("smooth"),
      py::arg("smooth_value"), py::arg("effective_order"),
      "BLEU (0..100) and brevity penalty from summed statistics, sacrebleu's arithmetic.");
  m.def(
      "text_chrf_from_stats",
      [](py::array_t<std::int64_t, py::array::c_style> stats, double beta, bool eps_smoothing) {
        if (stats.ndim() != 2 || stats.shape(1) != 3 || stats.shape(0) < 1 || stats.shape(0) > 64)
          throw py::value_error("stats must be an int64 array of shape (orders, 3) with 1..64 orders");
        return ds::text::chrf_from_stats(stats.data(), static_cast<int>(stats.shape(0)), beta, eps_smoothing);
      },
      py::arg("stats"), py::arg("beta"), py::arg("eps_smoothing"),
      "chrF (0..100) from summed per-order statistics, sacrebleu's arithmetic.");
  m.def("text_bleu_multi_stats", &text_bleu_multi_stats, py::arg("hyp_ids"), py::arg("hyp_offsets"),
        py::arg("ref_ids"), py::arg("ref_offsets"), py::arg("present") = py::none(), py::arg("order") = 4,
        py::arg("workers") = 1,
        "BLEU segment statistics (n, 2 + 2 order: sys_len, ref_len, correct, total) against several reference "
        "streams: counts clipped by the max over references, closest reference length (shorter on ties).");
  m.def("text_unicode_version", [] { return std::string(ds::text::tables::kUnicodeVersion); });
}

const ds::Registrar reg_text(register_text);

}  // namespace
