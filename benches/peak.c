/*
 * This machine's peak for the path-dependent physical-limit estimate (benches/README.md):
 *   1. f64 multiply+add throughput (no FMA, as the linear.rs kernel uses none): 16 independent
 *      AVX-512 accumulator chains, half multiplies and half adds, per core;
 *   2. f64 FMA throughput (the hardware's peak, for reference);
 *   3. memory bandwidth: a STREAM-like triad a[i] = b[i] + s*c[i] over 3 × 64 MiB arrays
 *      (larger than the 32 MiB L3), bytes counted as 3 × 8 per element (no write-allocate).
 * Times are this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so that other processes on a
 * shared machine do not count; each test runs on one thread (one core).
 *
 *   gcc -O2 -mavx512f -mfma -o /tmp/peak benches/peak.c && /tmp/peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* 16 independent accumulator chains in registers (named, so that none spills to memory) */
#define CHAINS 16
#define DECL(i) __m512d a##i = _mm512_set1_pd(1.0 + i * 1e-9);
#define MUL(i) a##i = _mm512_mul_pd(a##i, m);
#define ADD(i) a##i = _mm512_add_pd(a##i, c);
#define FMA(i) a##i = _mm512_fmadd_pd(a##i, m, c);
#define ALL(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)
#define EVEN(X) X(0) X(2) X(4) X(6) X(8) X(10) X(12) X(14)
#define ODD(X) X(1) X(3) X(5) X(7) X(9) X(11) X(13) X(15)
#define SUM(i) sum += _mm512_reduce_add_pd(a##i);

static double mul_add(long iters, int fma) {
  ALL(DECL)
  const __m512d m = _mm512_set1_pd(0.999999999), c = _mm512_set1_pd(1e-9);
  double t = now();
  if (fma) {
    for (long k = 0; k < iters; k++) { ALL(FMA) }
  } else {
    for (long k = 0; k < iters; k++) { EVEN(MUL) ODD(ADD) }
  }
  double s = now() - t;
  double sum = 0;
  ALL(SUM)
  if (sum == 42.0) printf("!");
  double flops = (double)iters * CHAINS * 8 * (fma ? 2 : 1);
  return flops / s / 1e9;
}

static double triad(void) {
  const size_t n = (size_t)8 << 20; /* 8M doubles = 64 MiB per array */
  double *a = aligned_alloc(64, n * 8), *b = aligned_alloc(64, n * 8), *c = aligned_alloc(64, n * 8);
  for (size_t i = 0; i < n; i++) { a[i] = 0; b[i] = 1; c[i] = 2; }
  double best = 0;
  for (int rep = 0; rep < 10; rep++) {
    double t = now();
    for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
    double s = now() - t;
    double gbs = 3.0 * 8 * n / s / 1e9;
    if (gbs > best) best = gbs;
  }
  if (a[n / 2] != 7.0) printf("!");
  free(a); free(b); free(c);
  return best;
}

int main(void) {
  const long iters = 100000000;
  printf("{\"mul_add_gflops\": %.1f, \"fma_gflops\": %.1f, \"triad_gb_s\": %.1f}\n",
         mul_add(iters, 0), mul_add(iters / 2, 1), triad());
  return 0;
}
