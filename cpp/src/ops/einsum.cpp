// Einstein summation: each operand's labels are summed out where no later operand or the output
// needs them; two operands are permuted to (batch, kept, contracted) and (batch, contracted, kept)
// and multiplied by one batched matmul; the result is permuted into the output's order (a view,
// copied where the matmul needs contiguous operands). Autograd accumulates (+=).
#include "convnet/ops/einsum.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "convnet/autograd.h"
#include "convnet/ops/linear.h"
#include "convnet/ops/reduce.h"
#include "convnet/ops/view.h"

namespace convnet {

namespace {

// An operand with a label per dimension.
struct Term {
  Tensor t;
  std::string labels;
};

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

// t summed over its labels that `keep` lacks.
Term sum_out(Term a, const std::string& keep) {
  std::vector<int64_t> dims;
  std::string left;
  for (size_t i = 0; i < a.labels.size(); ++i) {
    if (has(keep, a.labels[i]))
      left += a.labels[i];
    else
      dims.push_back(static_cast<int64_t>(i));
  }
  if (!dims.empty()) a = {sum(a.t, dims), left};
  return a;
}

// t with its dimensions in the order of `order` (a permutation of its labels).
Tensor arrange(const Term& a, const std::string& order) {
  std::vector<int64_t> perm;
  for (char c : order) perm.push_back(static_cast<int64_t>(a.labels.find(c)));
  return permute(a.t, perm).contiguous();
}

int64_t product(const Term& a, const std::string& labels) {
  int64_t p = 1;
  for (char c : labels) p *= a.t.shape()[a.labels.find(c)];
  return p;
}

// a and b contracted over their shared labels that `keep` lacks; the result's labels are the
// shared kept ones (batch), then a's own, then b's own.
Term contract(Term a, Term b, const std::string& keep) {
  a = sum_out(a, keep + b.labels);
  b = sum_out(b, keep + a.labels);
  std::string batch, con, a_own, b_own;
  for (char c : a.labels) {
    if (!has(b.labels, c))
      a_own += c;
    else if (has(keep, c))
      batch += c;
    else
      con += c;
  }
  for (char c : b.labels)
    if (!has(a.labels, c)) b_own += c;
  const int64_t B = product(a, batch), n = product(a, a_own), k = product(a, con), m = product(b, b_own);
  Tensor ta = arrange(a, batch + a_own + con).reshape({B, n, k});
  Tensor tb = arrange(b, batch + con + b_own).reshape({B, k, m});
  Shape shape;
  for (char c : batch + a_own) shape.push_back(a.t.shape()[a.labels.find(c)]);
  for (char c : b_own) shape.push_back(b.t.shape()[b.labels.find(c)]);
  return {matmul(ta, tb).reshape(shape), batch + a_own + b_own};
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  CONVNET_CHECK(eq.find('.') == std::string::npos, "einsum: ellipsis ('...') is not supported, equation '",
                equation, "'");
  std::vector<std::string> terms(1);
  for (char c : lhs) {
    if (c == ',')
      terms.emplace_back();
    else
      terms.back() += c;
  }
  CONVNET_CHECK(terms.size() == operands.size(), "einsum: the equation '", equation, "' names ", terms.size(),
                " operand(s), got ", operands.size());
  std::vector<Term> ts;
  std::array<int64_t, 128> size;
  size.fill(-1);
  for (size_t i = 0; i < terms.size(); ++i) {
    const Tensor& t = operands[i];
    CONVNET_CHECK(is_floating(t.dtype()), "einsum: expected floating point operands, got ", dtype_name(t.dtype()),
                  " for operand ", i, " of shape ", shape_str(t.shape()));
    CONVNET_CHECK(static_cast<int64_t>(terms[i].size()) == t.dim(), "einsum: operand ", i, " has shape ",
                  shape_str(t.shape()), " but '", terms[i], "' names ", terms[i].size(), " dimension(s)");
    for (size_t d = 0; d < terms[i].size(); ++d) {
      const char c = terms[i][d];
      CONVNET_CHECK(std::isalpha(static_cast<unsigned char>(c)), "einsum: invalid label '", c, "' in '", equation,
                    "' (labels are letters)");
      CONVNET_CHECK(terms[i].find(c) == d, "einsum: label '", c, "' repeated in operand ", i,
                    " (diagonals are not supported), equation '", equation, "'");
      CONVNET_CHECK(size[c] < 0 || size[c] == t.shape()[d], "einsum: label '", c, "' has size ", t.shape()[d],
                    " in operand ", i, " of shape ", shape_str(t.shape()), " but ", size[c], " before");
      size[c] = t.shape()[d];
    }
    ts.push_back({t, terms[i]});
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = eq.substr(arrow + 2);
    for (size_t d = 0; d < out.size(); ++d) {
      CONVNET_CHECK(std::isalpha(static_cast<unsigned char>(out[d])) && size[out[d]] >= 0, "einsum: output label '",
                    out[d], "' does not appear in the inputs of '", equation, "'");
      CONVNET_CHECK(out.find(out[d]) == d, "einsum: output label '", out[d], "' appears twice in '", equation, "'");
    }
  } else {
    for (char c = 'A'; c <= 'z'; ++c)
      if (std::isalpha(static_cast<unsigned char>(c)) && std::count(lhs.begin(), lhs.end(), c) == 1) out += c;
  }
  Term acc = sum_out(ts[0], out + (ts.size() > 1 ? lhs.substr(terms[0].size()) : std::string()));
  for (size_t i = 1; i < ts.size(); ++i) {
    std::string later = out;  // what the output and the operands after i need
    for (size_t j = i + 1; j < ts.size(); ++j) later += ts[j].labels;
    acc = contract(acc, ts[i], later);
  }
  acc = sum_out(acc, out);
  return arrange(acc, out);
}

}  // namespace convnet
