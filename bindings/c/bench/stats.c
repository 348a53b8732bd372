/*
 * stats.c: the statistics of the presence benchmark (owned by bindings/c/bench): median, mean,
 * percentiles, min and max of the per-call samples.
 */
#include <stdlib.h>

#include "bench.h"

/* ----- statistics ---------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double q)
{
    /* nearest rank */
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1) {
        rank = 1;
    }
    if (rank > n) {
        rank = n;
    }
    return sorted[rank - 1];
}

stats compute(double *v, size_t n)
{
    stats s = { 0 };
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += v[i];
    }
    s.mean = sum / (double)n;
    s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    s.p90 = percentile(v, n, 0.90);
    s.p99 = percentile(v, n, 0.99);
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

