// arrowshap GPU TreeSHAP kernels, compiled at run time by NVRTC (no headers needed).
//
// Layout: see native/core/src/gpu/paths.rs (the Plan arrays, uploaded as they are).
// Algorithm: see native/core/src/gpu/mod.rs; native/core/src/gpu/host.rs runs the same
// per-lane arithmetic on the host and is checked against the CPU oracle in CI.
// Compile with --fmad=false: every lane's contribution is then bit-identical to host.rs.
//
// One warp = one bin of whole paths, one lane = one path element. A block of W warps owns
// a tile of `tile_rows` consecutive rows: it stages their feature values in shared memory,
// each warp loops over bins (bin = warp, warp + W, ...) and, for each bin, over the tile's
// rows. Path-dependent values are summed per block in shared memory (when they fit, else
// with global atomics) and written once; interaction values always use global atomics.

#define WARP 32
#define FULL 0xffffffffu
#define NO_FEATURE 0xffffffffu

#define K_XGB_NUMERIC 0u
#define K_XGB_CATEGORICAL 1u
#define K_LGB_NONE 2u
#define K_LGB_ZERO 3u
#define K_LGB_NAN 4u
#define F_DEFAULT_LEFT (1u << 8)
#define F_NAN_RIGHT (1u << 9)
#define F_TAKES_LEFT (1u << 10)
#define LGB_ZERO_THRESHOLD 1.0000000180025095e-35  // float 1e-35f, as ensemble::LGB_ZERO_THRESHOLD
#define MAX_POINTS 16

struct Plan {
  const unsigned* lane_feature;
  const double* lane_z;
  const unsigned* lane_edge_begin;
  const unsigned* lane_edge_end;
  const unsigned* lane_seg;
  const double* lane_value;
  const unsigned* lane_output;
  const unsigned* bin_points;
  const unsigned* bin_max_path;
  const unsigned* edge_info;
  const double* edge_threshold;
  const unsigned* edge_cat_offset;
  const unsigned* edge_cat_words;
  const unsigned* cat_bits;
  const double* quad_t;
  const double* quad_w;
  unsigned bins;
};

__device__ __forceinline__ bool in_set(const Plan& p, unsigned e, unsigned long long c) {
  unsigned long long word = c / 32ull;
  if (word >= (unsigned long long)p.edge_cat_words[e]) return false;
  return ((p.cat_bits[p.edge_cat_offset[e] + (unsigned)word] >> (unsigned)(c % 32ull)) & 1u) == 1u;
}

// Whether value x satisfies edge e (the path's side of the split): paths.rs `edge_holds`.
__device__ bool edge_holds(const Plan& p, unsigned e, double x) {
  const unsigned info = p.edge_info[e];
  const bool default_left = (info & F_DEFAULT_LEFT) != 0u;
  const double t = p.edge_threshold[e];
  const bool nan = x != x;
  bool left;
  switch (info & 0xffu) {
    case K_XGB_NUMERIC:
      left = nan ? default_left : ((float)x < (float)t);
      break;
    case K_XGB_CATEGORICAL:
      if (nan) {
        left = default_left;
      } else {
        const float xf = (float)x;
        if (!(xf >= 0.0f) || xf >= 16777216.0f) left = true;
        else left = !in_set(p, e, (unsigned long long)xf);
      }
      break;
    case K_LGB_NONE:
      left = (nan ? 0.0 : x) <= t;
      break;
    case K_LGB_ZERO: {
      const double v = nan ? 0.0 : x;
      left = fabs(v) <= LGB_ZERO_THRESHOLD ? default_left : (v <= t);
      break;
    }
    case K_LGB_NAN:
      left = nan ? default_left : (x <= t);
      break;
    default:  // LightGBM categorical
      if (nan) {
        left = (info & F_NAN_RIGHT) ? false : in_set(p, e, 0ull);
      } else {
        const int c = (int)x;  // saturating, like Rust's `as i32`
        left = c >= 0 && in_set(p, e, (unsigned long long)c);
      }
      break;
  }
  return left == ((info & F_TAKES_LEFT) != 0u);
}

// Exclusive product over the lanes of this lane's segment before it (host.rs `prefix_excl`).
__device__ __forceinline__ double seg_prefix_excl(double v, unsigned lane, unsigned start) {
#pragma unroll
  for (unsigned off = 1; off < WARP; off <<= 1) {
    const double y = __shfl_up_sync(FULL, v, off);
    if (lane >= start + off) v = v * y;
  }
  const double e = __shfl_up_sync(FULL, v, 1);
  return lane > start ? e : 1.0;
}

// Exclusive product over the lanes of this lane's segment after it (host.rs `suffix_excl`).
__device__ __forceinline__ double seg_suffix_excl(double v, unsigned lane, unsigned end) {
#pragma unroll
  for (unsigned off = 1; off < WARP; off <<= 1) {
    const double y = __shfl_down_sync(FULL, v, off);
    if (lane + off < end) v = v * y;
  }
  const double e = __shfl_down_sync(FULL, v, 1);
  return lane + 1 < end ? e : 1.0;
}

// Stages rows [row0, row0 + n) of the column-major x (ld = rows of the chunk) as xs[r * m + f].
__device__ void stage_rows(const double* __restrict__ x, unsigned long long ld, unsigned m,
                           unsigned row0, unsigned n, double* xs) {
  for (unsigned i = threadIdx.x; i < n * m; i += blockDim.x) {
    const unsigned f = i / n, r = i % n;
    xs[r * m + f] = x[(unsigned long long)f * ld + row0 + r];
  }
}

// The lane's outcome o (1 when the sample satisfies all the element's splits) for staged row r.
__device__ __forceinline__ double outcome(const Plan& p, unsigned idx, unsigned feature,
                                          const double* xrow) {
  if (feature == NO_FEATURE) return 1.0;
  const double v = xrow[feature];
  const unsigned e1 = p.lane_edge_end[idx];
  for (unsigned e = p.lane_edge_begin[idx]; e < e1; e++)
    if (!edge_holds(p, e, v)) return 0.0;
  return 1.0;
}

// Path-dependent SHAP values. phi is column-major for the chunk: phi[f * rows * k + r * k + out]
// (the base column is filled by the host). With shared_acc, the block sums its tile in shared
// memory and stores it (phi needs no zeroing); otherwise it adds with global atomics (phi zeroed).
extern "C" __global__ void treeshap_path(Plan p, const double* __restrict__ x, unsigned rows,
                                         unsigned m, unsigned k, unsigned tile_rows,
                                         int shared_acc, double* __restrict__ phi) {
  extern __shared__ double smem[];
  double* xs = smem;
  double* acc = smem + (size_t)tile_rows * m;
  const unsigned lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = blockDim.x / WARP;
  const unsigned row0 = blockIdx.x * tile_rows;
  if (row0 >= rows) return;
  const unsigned n = min(tile_rows, rows - row0);
  stage_rows(x, rows, m, row0, n, xs);
  const unsigned width = m * k;
  if (shared_acc)
    for (unsigned i = threadIdx.x; i < n * width; i += blockDim.x) acc[i] = 0.0;
  __syncthreads();
  for (unsigned bin = warp; bin < p.bins; bin += warps) {
    const unsigned idx = bin * WARP + lane;
    const unsigned feature = p.lane_feature[idx];
    const double z = p.lane_z[idx];
    const unsigned seg = p.lane_seg[idx];
    const unsigned start = seg & 0xffu, end = (seg >> 8) & 0xffu;
    const double value = p.lane_value[idx];
    const unsigned out = p.lane_output[idx];
    const unsigned points = p.bin_points[bin];
    const unsigned q0 = points * (points - 1) / 2;
    for (unsigned r = 0; r < n; r++) {
      const double o = outcome(p, idx, feature, xs + (size_t)r * m);
      double s = 0.0;
      for (unsigned q = 0; q < points; q++) {
        const double f = feature == NO_FEATURE ? 1.0 : z + p.quad_t[q0 + q] * (o - z);
        const double pre = seg_prefix_excl(f, lane, start);
        const double suf = seg_suffix_excl(f, lane, end);
        s += p.quad_w[q0 + q] * (pre * suf);
      }
      if (feature != NO_FEATURE) {
        const double c = value * (o - z) * s;
        if (shared_acc) atomicAdd(&acc[r * width + feature * k + out], c);
        else atomicAdd(&phi[(size_t)feature * rows * k + (size_t)(row0 + r) * k + out], c);
      }
    }
  }
  if (!shared_acc) return;
  __syncthreads();
  for (unsigned i = threadIdx.x; i < n * width; i += blockDim.x) {
    const unsigned r = i / width, rem = i % width, f = rem / k, o = rem % k;
    phi[(size_t)f * rows * k + (size_t)(row0 + r) * k + o] = acc[i];
  }
}

// SHAP interaction values (no bias row/column) for the chunk, added with global atomics into
// the zeroed out[j * T + (r * k + o) * m + i], T = rows * k * m.
extern "C" __global__ void treeshap_interactions(Plan p, const double* __restrict__ x,
                                                 unsigned rows, unsigned m, unsigned k,
                                                 unsigned tile_rows, double* __restrict__ out) {
  extern __shared__ double smem[];
  double* xs = smem;
  const unsigned lane = threadIdx.x % WARP, warp = threadIdx.x / WARP, warps = blockDim.x / WARP;
  const unsigned row0 = blockIdx.x * tile_rows;
  if (row0 >= rows) return;
  const unsigned n = min(tile_rows, rows - row0);
  stage_rows(x, rows, m, row0, n, xs);
  __syncthreads();
  const unsigned long long T = (unsigned long long)rows * k * m;
  for (unsigned bin = warp; bin < p.bins; bin += warps) {
    const unsigned idx = bin * WARP + lane;
    const unsigned feature = p.lane_feature[idx];
    const double z = p.lane_z[idx];
    const unsigned seg = p.lane_seg[idx];
    const unsigned start = seg & 0xffu, end = (seg >> 8) & 0xffu;
    const double value = p.lane_value[idx];
    const unsigned o_k = p.lane_output[idx];
    const unsigned points = p.bin_points[bin];
    const unsigned q0 = points * (points - 1) / 2;
    const unsigned steps = p.bin_max_path[bin];
    for (unsigned r = 0; r < n; r++) {
      const unsigned row = row0 + r;
      const double o = outcome(p, idx, feature, xs + (size_t)r * m);
      double f[MAX_POINTS], pre[MAX_POINTS], suf[MAX_POINTS], mid[MAX_POINTS];
      double main = 0.0;
      for (unsigned q = 0; q < points; q++) {
        f[q] = feature == NO_FEATURE ? 1.0 : z + p.quad_t[q0 + q] * (o - z);
        pre[q] = seg_prefix_excl(f[q], lane, start);
        suf[q] = seg_suffix_excl(f[q], lane, end);
        main += p.quad_w[q0 + q] * (pre[q] * suf[q]);
        mid[q] = 1.0;
      }
      const double oz = o - z;
      const unsigned long long base = ((unsigned long long)row * k + o_k) * m;
      if (feature != NO_FEATURE)
        atomicAdd(&out[(unsigned long long)feature * T + base + feature], value * oz * main);
      for (unsigned s = 1; s < steps; s++) {
        double acc = 0.0;
        for (unsigned q = 0; q < points; q++) {
          const double suf_j = __shfl_down_sync(FULL, suf[q], s);
          const double f_j = __shfl_down_sync(FULL, f[q], s);
          acc += p.quad_w[q0 + q] * (pre[q] * mid[q] * suf_j);
          mid[q] *= f_j;
        }
        const double oz_j = __shfl_down_sync(FULL, oz, s);
        const unsigned feature_j = __shfl_down_sync(FULL, feature, s);
        if (feature != NO_FEATURE && lane + s < end) {
          const double pair = 0.5 * value * oz * oz_j * acc;
          atomicAdd(&out[(unsigned long long)feature_j * T + base + feature], pair);
          atomicAdd(&out[(unsigned long long)feature * T + base + feature_j], pair);
          atomicAdd(&out[(unsigned long long)feature * T + base + feature], -pair);
          atomicAdd(&out[(unsigned long long)feature_j * T + base + feature_j], -pair);
        }
      }
    }
  }
}
