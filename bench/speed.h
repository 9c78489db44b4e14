/*
 * speed.h - what the single-core speed benchmarks (bench/p384-speed,
 * bench/verify-speed) share: this process's CPU time, and the median of
 * the rounds. Time is CPU time, so a busy machine slows every side alike
 * rather than counting other programs' time against one of them.
 */
#ifndef LOGTO_BENCH_SPEED_H
#define LOGTO_BENCH_SPEED_H

#include <stdlib.h>
#include <time.h>

#define MAX_ROUNDS 15

static inline double cpu_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* The median of v's n values (sorts v). */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* LOGTO_BENCH_SPEED_H */
