// Fused causal attention for head size 32 in bf16 on CPUs with AVX-512 BF16 (midi_genres/model/fused_attention.py
// compiles and loads it). Scores live in fp32 in a small buffer per group of rows and never reach memory as a
// matrix; every block above the diagonal is skipped. Matmuls are vdpbf16ps (pairs of bf16 products summed in fp32).
//
// Layouts: q, k, v, out and the gradients are (batch, heads, T, 32) bf16 with any strides (in elements) but 1 along
// the head dimension, so the kernel reads and writes the projections' (batch, T, 3, heads, 32) layout directly. "Pairs" packings hold two bf16 in one 32-bit word:
//   by_dim   [16][Tp]  word (p, j)  = (x[j][2p], x[j][2p+1])       lanes run over positions j
//   by_pos   [Tp/2][32] word (jp, d) = (x[2jp][d], x[2jp+1][d])    lanes run over dimensions d
// Probabilities are kept as (n, Tq, Tp) bf16 rows for the backward pass, zero past the diagonal up to the next
// multiple of 32 (what the matmuls read; the rest is never read).
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>

namespace {

constexpr int D = 32;       // head size
constexpr int W = D / 2;    // 32-bit words per row
constexpr int ROWS = 8;     // query rows per register block

typedef uint16_t bf16;

inline int round_up(int x, int m) { return (x + m - 1) / m * m; }

inline __m512bh as_bh(__m512i x) { return (__m512bh)x; }

inline __m512 bf16_to_fp32(__m256i x) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(x), 16)); }

inline __m256i fp32_to_bf16(__m512 x) { return (__m256i)_mm512_cvtneps_pbh(x); }

constexpr float LOG2E = 1.44269504088896341f;

// 2^x for x <= 0 (softmax arguments in base 2 after the max is subtracted): 2^round(x) times a degree-5 polynomial
// of the rest (relative error under 3e-6, far below bf16's rounding); lanes below -126 give at most 2^-126.
inline __m512 exp2_nonpositive(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-126.0f));
    const __m512 n = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(x, n);  // in [-0.5, 0.5]
    __m512 p = _mm512_set1_ps(1.3333558e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6181291e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.5504109e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022651e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.9314718e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// by_dim packing of rows 0..T-1 of x (row stride rs) into out[16][Tp], zero past T.
void pack_by_dim(const bf16* x, long rs, int T, int Tp, uint32_t* out) {
    for (int j = 0; j < T; ++j) {  // row by row: each row is one cache line of x
        const uint32_t* row = (const uint32_t*)(x + j * rs);
        for (int p = 0; p < W; ++p) out[(size_t)p * Tp + j] = row[p];
    }
    for (int p = 0; p < W; ++p)
        for (int j = T; j < Tp; ++j) out[(size_t)p * Tp + j] = 0;
}

// by_pos packing of rows 0..T-1 of x (row stride rs) into out[Tp/2][32], zero past T (Tp even).
void pack_by_pos(const bf16* x, long rs, int T, int Tp, uint32_t* out) {
    const __m512i lo_idx = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11, 42, 10, 41, 9, 40, 8, 39, 7, 38,
                                            6, 37, 5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
    const __m512i hi_idx = _mm512_add_epi16(lo_idx, _mm512_set1_epi16(16));
    for (int jp = 0; jp < Tp / 2; ++jp) {
        __m512i a = 2 * jp < T ? _mm512_loadu_si512(x + 2 * jp * rs) : _mm512_setzero_si512();
        __m512i b = 2 * jp + 1 < T ? _mm512_loadu_si512(x + (2 * jp + 1) * rs) : _mm512_setzero_si512();
        _mm512_storeu_si512(out + (size_t)jp * D, _mm512_permutex2var_epi16(a, lo_idx, b));
        _mm512_storeu_si512(out + (size_t)jp * D + 16, _mm512_permutex2var_epi16(a, hi_idx, b));
    }
}

// out[r][j] = scale * sum_d a[r][d] * keys[j][d] for up to ROWS rows of a (bf16, row stride rs) and positions
// j < cols (a multiple of 32), keys given by_dim; out is fp32 with row stride Tp.
void scores(const bf16* a, long rs, int rows, const uint32_t* keys_by_dim, int Tp, int cols, float scale,
            float* out) {
    const __m512 s = _mm512_set1_ps(scale);
    for (int j0 = 0; j0 < cols; j0 += 32) {
        __m512 acc[ROWS][2];
        for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
        for (int p = 0; p < W; ++p) {
            __m512bh b0 = as_bh(_mm512_loadu_si512(keys_by_dim + (size_t)p * Tp + j0));
            __m512bh b1 = as_bh(_mm512_loadu_si512(keys_by_dim + (size_t)p * Tp + j0 + 16));
            for (int r = 0; r < ROWS; ++r) {
                __m512bh x = as_bh(_mm512_set1_epi32(r < rows ? *(const int*)(a + r * rs + 2 * p) : 0));
                acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
                acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
            }
        }
        for (int r = 0; r < rows; ++r) {
            _mm512_storeu_ps(out + (size_t)r * Tp + j0, _mm512_mul_ps(acc[r][0], s));
            _mm512_storeu_ps(out + (size_t)r * Tp + j0 + 16, _mm512_mul_ps(acc[r][1], s));
        }
    }
}

// out[r][d] = sum_j w[r][j] * values[j][d] for ROWS rows of weights w (bf16, row stride Tp) over j < cols (even),
// values given by_pos; written as bf16 rows (row stride os).
void weighted_sum(const bf16* w, int rows, int Tp, int cols, const uint32_t* values_by_pos, bf16* out, long os) {
    const uint32_t* ww = (const uint32_t*)w;
    const int Wp = Tp / 2;
    __m512 acc[ROWS][2];
    for (int r = 0; r < ROWS; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int jp = 0; jp < cols / 2; ++jp) {
        __m512bh b0 = as_bh(_mm512_loadu_si512(values_by_pos + (size_t)jp * D));
        __m512bh b1 = as_bh(_mm512_loadu_si512(values_by_pos + (size_t)jp * D + 16));
        for (int r = 0; r < ROWS; ++r) {
            __m512bh x = as_bh(_mm512_set1_epi32(r < rows ? (int)ww[(size_t)r * Wp + jp] : 0));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
        }
    }
    for (int r = 0; r < rows; ++r) {
        __m256i lo = fp32_to_bf16(acc[r][0]), hi = fp32_to_bf16(acc[r][1]);
        _mm256_storeu_si256((__m256i*)(out + r * os), lo);
        _mm256_storeu_si256((__m256i*)(out + r * os + 16), hi);
    }
}

// Softmax of row s[0..len) of scores in base 2 (times log2 e), in place (fp32), written as bf16 to prob[0..cols)
// with zeros from len on (cols: a multiple of 32, as far as the matmuls read).
void softmax_row(float* s, int len, int cols, bf16* prob) {
    __m512 m = _mm512_set1_ps(-__builtin_inff());
    for (int j = 0; j < len; j += 16) {
        __mmask16 k = len - j >= 16 ? 0xFFFF : (__mmask16)((1u << (len - j)) - 1);
        m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, k, s + j));
    }
    __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(m)), sum = _mm512_setzero_ps();
    for (int j = 0; j < len; j += 16) {
        __mmask16 k = len - j >= 16 ? 0xFFFF : (__mmask16)((1u << (len - j)) - 1);
        __m512 e = _mm512_maskz_mov_ps(k, exp2_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), mx)));
        _mm512_storeu_ps(s + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    int j = 0;
    for (; j < len; j += 16) {
        __mmask16 k = len - j >= 16 ? 0xFFFF : (__mmask16)((1u << (len - j)) - 1);
        __m512 p = _mm512_maskz_mul_ps(k, _mm512_loadu_ps(s + j), inv);
        _mm256_storeu_si256((__m256i*)(prob + j), fp32_to_bf16(p));
    }
    for (; j < cols; j += 16) _mm256_storeu_si256((__m256i*)(prob + j), _mm256_setzero_si256());
}

struct Scratch {
    uint32_t *a, *b;  // packed keys and values (or the backward's two packings)
    float* s;         // ROWS rows of fp32 scores
    bf16* p;          // probabilities of ROWS rows when they are not kept
    explicit Scratch(int Tp) {
        a = (uint32_t*)aligned_alloc(64, (size_t)W * Tp * 4);
        b = (uint32_t*)aligned_alloc(64, (size_t)Tp * D * 2);
        s = (float*)aligned_alloc(64, (size_t)ROWS * Tp * 4);
        p = (bf16*)aligned_alloc(64, (size_t)ROWS * Tp * 2);
    }
    ~Scratch() { free(a); free(b); free(s); free(p); }
};

// One sequence: queries are the last Tq of Tk positions; rows of q, k, v, o at their row strides.
void forward_one(const bf16* q, long qs, const bf16* k, long ks, const bf16* v, long vs, bf16* o, long os,
                 bf16* probs, int Tq, int Tk, float scale, Scratch& t) {
    const int Tp = round_up(Tk, 32), offset = Tk - Tq;
    pack_by_dim(k, ks, Tk, Tp, t.a);
    pack_by_pos(v, vs, Tk, Tp, t.b);
    for (int i0 = 0; i0 < Tq; i0 += ROWS) {
        const int rows = Tq - i0 < ROWS ? Tq - i0 : ROWS, cols = round_up(offset + i0 + rows, 32);
        bf16* p = probs ? probs + (size_t)i0 * Tp : t.p;
        scores(q + i0 * qs, qs, rows, t.a, Tp, cols, scale * LOG2E, t.s);
        for (int r = 0; r < rows; ++r) softmax_row(t.s + (size_t)r * Tp, offset + i0 + r + 1, cols, p + (size_t)r * Tp);
        weighted_sum(p, rows, Tp, cols, t.b, o + i0 * os, os);
    }
}

// dX^T accumulated by blocks: out[j][d] = sum_i w[i][j] * x[i][d] over rows i >= j (w zero above the diagonal),
// w (T rows, stride Tp, bf16) and x given by_pos (pairs of rows i); written as bf16 rows (row stride os). Pairs of
// rows of w are interleaved per 128-bit lane (unpacklo/hi), so accumulator lane t of half h holds position
// 8 * (t / 4) + 4 * h + t % 4 of the block; the transposing store reads them back in order.
void transposed_weighted_sum(const bf16* w, int T, int Tp, const uint32_t* x_by_pos, bf16* out, long os) {
    const __m512i column = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                              _mm512_set1_epi32(32));
    alignas(64) float block[D][32];
    for (int j0 = 0; j0 < T; j0 += 32) {
        for (int d0 = 0; d0 < D; d0 += 8) {
            __m512 acc[8][2];
            for (int dd = 0; dd < 8; ++dd) acc[dd][0] = acc[dd][1] = _mm512_setzero_ps();
            for (int ip = j0 / 2; ip < (T + 1) / 2; ++ip) {
                __m512i r0 = _mm512_loadu_si512(w + (size_t)(2 * ip) * Tp + j0);
                __m512i r1 = 2 * ip + 1 < T ? _mm512_loadu_si512(w + (size_t)(2 * ip + 1) * Tp + j0)
                                            : _mm512_setzero_si512();
                __m512bh b0 = as_bh(_mm512_unpacklo_epi16(r0, r1));
                __m512bh b1 = as_bh(_mm512_unpackhi_epi16(r0, r1));
                for (int dd = 0; dd < 8; ++dd) {
                    __m512bh x = as_bh(_mm512_set1_epi32((int)x_by_pos[(size_t)ip * D + d0 + dd]));
                    acc[dd][0] = _mm512_dpbf16_ps(acc[dd][0], x, b0);
                    acc[dd][1] = _mm512_dpbf16_ps(acc[dd][1], x, b1);
                }
            }
            for (int dd = 0; dd < 8; ++dd) {
                _mm512_store_ps(block[d0 + dd], acc[dd][0]);
                _mm512_store_ps(block[d0 + dd] + 16, acc[dd][1]);
            }
        }
        const int jn = T - j0 < 32 ? T - j0 : 32;
        for (int jj = 0; jj < jn; ++jj) {  // position jj of the block: half (jj / 4) % 2, lane 4 * (jj / 8) + jj % 4
            const int at = 16 * (jj / 4 % 2) + 4 * (jj / 8) + jj % 4;
            __m512 c0 = _mm512_i32gather_ps(column, &block[0][at], 4);
            __m512 c1 = _mm512_i32gather_ps(column, &block[16][at], 4);
            _mm256_storeu_si256((__m256i*)(out + (j0 + jj) * os), fp32_to_bf16(c0));
            _mm256_storeu_si256((__m256i*)(out + (j0 + jj) * os + 16), fp32_to_bf16(c1));
        }
    }
}

// The tensors of one call: (batch, heads, T, 32) views given by pointer and strides (batch, head, row).
struct Views {
    bf16* data[8];
    const long* strides;  // 3 per view
    int heads;
    bf16* at(int view, int seq) const {
        const long* st = strides + 3 * view;
        return data[view] + (seq / heads) * st[0] + (seq % heads) * st[1];
    }
    long row(int view) const { return strides[3 * view + 2]; }
};

// One sequence's backward pass (Tq == Tk == T) for views q, k, v, dout, dq, dk, dv (0-6) of sequence seq; probs
// (T, Tp); ds a (T, Tp) bf16 buffer, x_by_pos a (Tp/2, 32) word buffer.
void backward_one(const Views& x, int seq, const bf16* probs, int T, float scale, Scratch& t, bf16* ds,
                  uint32_t* x_by_pos) {
    enum { Q, K, V, DOUT, DQ, DK, DV };
    const int Tp = round_up(T, 32);
    const bf16* dout = x.at(DOUT, seq);
    pack_by_dim(x.at(V, seq), x.row(V), T, Tp, t.a);
    pack_by_pos(x.at(K, seq), x.row(K), T, Tp, t.b);
    for (int i0 = 0; i0 < T; i0 += ROWS) {
        const int rows = T - i0 < ROWS ? T - i0 : ROWS, cols = round_up(i0 + rows, 32);
        scores(dout + i0 * x.row(DOUT), x.row(DOUT), rows, t.a, Tp, cols, 1.0f, t.s);  // dP = dO V^T
        for (int r = 0; r < rows; ++r) {
            const int len = i0 + r + 1;
            const float* dp = t.s + (size_t)r * Tp;
            const bf16* p = probs + (size_t)(i0 + r) * Tp;
            bf16* g = ds + (size_t)(i0 + r) * Tp;
            __m512 dot = _mm512_setzero_ps();
            for (int j = 0; j < len; j += 16) {
                __mmask16 m = len - j >= 16 ? 0xFFFF : (__mmask16)((1u << (len - j)) - 1);
                __m512 pj = bf16_to_fp32(_mm256_maskz_loadu_epi16(m, p + j));
                dot = _mm512_fmadd_ps(pj, _mm512_maskz_loadu_ps(m, dp + j), dot);
            }
            const __m512 delta = _mm512_set1_ps(_mm512_reduce_add_ps(dot)), s = _mm512_set1_ps(scale);
            int j = 0;
            for (; j < len; j += 16) {
                __mmask16 m = len - j >= 16 ? 0xFFFF : (__mmask16)((1u << (len - j)) - 1);
                __m512 pj = bf16_to_fp32(_mm256_maskz_loadu_epi16(m, p + j));
                __m512 gj = _mm512_mul_ps(_mm512_mul_ps(pj, _mm512_sub_ps(_mm512_maskz_loadu_ps(m, dp + j), delta)), s);
                _mm256_storeu_si256((__m256i*)(g + j), fp32_to_bf16(_mm512_maskz_mov_ps(m, gj)));
            }
            for (; j < cols; j += 16) _mm256_storeu_si256((__m256i*)(g + j), _mm256_setzero_si256());
        }
        weighted_sum(ds + (size_t)i0 * Tp, rows, Tp, cols, t.b, x.at(DQ, seq) + i0 * x.row(DQ), x.row(DQ));  // dQ = dS K
    }
    pack_by_pos(dout, x.row(DOUT), T, Tp, x_by_pos);
    transposed_weighted_sum(probs, T, Tp, x_by_pos, x.at(DV, seq), x.row(DV));  // dV = P^T dO
    pack_by_pos(x.at(Q, seq), x.row(Q), T, Tp, x_by_pos);
    transposed_weighted_sum(ds, T, Tp, x_by_pos, x.at(DK, seq), x.row(DK));  // dK = dS^T Q
}

}  // namespace

extern "C" {

// Causal attention of the batch * heads sequences (sequence s: batch s / heads, head s % heads): queries q (batch,
// heads, Tq, 32) are the last Tq of the Tk positions of k and v (batch, heads, Tk, 32); out like q; strides holds
// (batch, head, row) of q, k, v, out; probs (batch * heads, Tq, round_up(Tk, 32)) or null (nothing kept). The
// sequences are shared out among `threads` OpenMP threads, each computed whole by one.
void causal_attention_forward(const bf16* q, const bf16* k, const bf16* v, bf16* out, bf16* probs, const long* strides,
                              int batch, int heads, int Tq, int Tk, float scale, int threads) {
    const Views x = {{(bf16*)q, (bf16*)k, (bf16*)v, out}, strides, heads};
    const int Tp = round_up(Tk, 32), n = batch * heads;
#pragma omp parallel num_threads(threads)
    {
        Scratch t(Tp);
#pragma omp for schedule(static)
        for (int seq = 0; seq < n; ++seq)
            forward_one(x.at(0, seq), x.row(0), x.at(1, seq), x.row(1), x.at(2, seq), x.row(2), x.at(3, seq),
                        x.row(3), probs ? probs + (size_t)seq * Tq * Tp : nullptr, Tq, Tk, scale, t);
    }
}

// Gradients dq, dk, dv of causal_attention_forward with Tq == Tk == T from dout and its kept probs; strides of q, k,
// v, dout, dq, dk, dv.
void causal_attention_backward(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, bf16* dq, bf16* dk,
                               bf16* dv, const bf16* probs, const long* strides, int batch, int heads, int T,
                               float scale, int threads) {
    const Views x = {{(bf16*)q, (bf16*)k, (bf16*)v, (bf16*)dout, dq, dk, dv}, strides, heads};
    const int Tp = round_up(T, 32), n = batch * heads;
#pragma omp parallel num_threads(threads)
    {
        Scratch t(Tp);
        bf16* ds = (bf16*)aligned_alloc(64, (size_t)T * Tp * 2);
        uint32_t* x_by_pos = (uint32_t*)aligned_alloc(64, (size_t)Tp * D * 2);
#pragma omp for schedule(static)
        for (int seq = 0; seq < n; ++seq)
            backward_one(x, seq, probs + (size_t)seq * T * Tp, T, scale, t, ds, x_by_pos);
        free(ds);
        free(x_by_pos);
    }
}

}  // extern "C"
