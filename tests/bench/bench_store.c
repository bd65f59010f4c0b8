/*
 * bench_store.c — what a loop turn pays for durability (docs/store.md).
 *
 * For N = 1, 10 and 100 outbox items per turn, at synchronous FULL (what the
 * gateway uses) and NORMAL (for comparison), runs T turns of
 *
 *     begin; N x outbox_add(200-byte payload); done() for the items added
 *     two turns earlier (the broker's PUBACKs); commit
 *
 * on a fresh store and prints items/s and the p50 / p99 / max latency of
 * the commit in µs. Each configuration runs R times; the figures are the
 * median over the runs (max: the largest seen). A figure, not a test.
 *
 *     bench_store [-d DIR] [-t TURNS] [-r RUNS]
 *
 * DIR (default /var/tmp) must be on the disk the gateway's state directory
 * will use: fsync cost is the disk's.
 */
#define _XOPEN_SOURCE 700 /* mkdtemp */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/store.h"

#define PAYLOAD_BYTES 200
#define MAX_PER_TURN  100

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double q)
{
    return sorted[(size_t)(q * (double)(n - 1) + 0.5)];
}

struct result {
    double items_per_s, p50_us, p99_us, max_us;
};

static void remove_store(const char *dir)
{
    static const char *const names[] = {"dosegate.db", "dosegate.db-wal", "dosegate.db-journal"};
    char p[600];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* One run: a fresh store in dir, turns turns of per_turn items. */
static int run(const char *dir, int sync_full, int per_turn, int turns, double *lat,
               struct result *r)
{
    dg_store *s = NULL;
    char err[512];
    int rc = dg_store_open(&s, dir, UINT64_C(1) << 40, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    dg_store_set_sync_full(s, sync_full);
    static uint8_t payload[PAYLOAD_BYTES];
    memset(payload, 'a', sizeof payload);
    uint64_t ids[3][MAX_PER_TURN];
    double start = now_us();
    for (int t = 0; t < turns; t++) {
        dg_store_begin(s);
        uint64_t *mine = ids[t % 3], *acked = ids[(t + 1) % 3]; /* added at t - 2 */
        if (t >= 2)
            for (int i = 0; i < per_turn; i++)
                dg_store_outbox_done(s, acked[i]);
        for (int i = 0; i < per_turn; i++) {
            rc =
                dg_store_outbox_add(s, i % 4 ? DG_OUTBOX_AUDIT : DG_OUTBOX_ALERT, "clinic",
                                    "dosegate/v1/site/audit", payload, sizeof payload, 0, &mine[i]);
            if (rc != 0) break;
        }
        double c0 = now_us();
        int crc = dg_store_commit(s);
        lat[t] = now_us() - c0;
        if (rc == 0) rc = crc;
        if (rc != 0) {
            fprintf(stderr, "bench_store: %s: %s\n", dg_strerror(rc), dg_store_errmsg(s));
            dg_store_close(s);
            return 1;
        }
    }
    double elapsed = now_us() - start;
    dg_store_close(s);
    remove_store(dir);
    qsort(lat, (size_t)turns, sizeof *lat, cmp_double);
    r->items_per_s = (double)turns * per_turn / (elapsed / 1e6);
    r->p50_us = pct(lat, (size_t)turns, 0.50);
    r->p99_us = pct(lat, (size_t)turns, 0.99);
    r->max_us = lat[turns - 1];
    return 0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    const char *base = "/var/tmp";
    int turns = 3000, runs = 5, opt;
    while ((opt = getopt(argc, argv, "d:t:r:h")) != -1) {
        switch (opt) {
        case 'd':
            base = optarg;
            break;
        case 't':
            turns = atoi(optarg);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: bench_store [-d DIR] [-t TURNS] [-r RUNS]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (turns < 10 || runs < 1 || runs > 99) {
        fprintf(stderr, "bench_store: need TURNS >= 10 and 1 <= RUNS <= 99\n");
        return 2;
    }
    char top[512];
    snprintf(top, sizeof top, "%s/dg-bench-store-XXXXXX", base);
    if (!mkdtemp(top)) {
        perror("bench_store: mkdtemp");
        return 1;
    }
    char dir[600];
    snprintf(dir, sizeof dir, "%s/state", top);
    double *lat = malloc(sizeof *lat * (size_t)turns);
    if (!lat) return 1;

    printf("bench_store: %d turns per run, median of %d runs, %d-byte payloads, in %s\n", turns,
           runs, PAYLOAD_BYTES, top);
    printf("%-7s %10s %12s %14s %14s %14s\n", "sync", "items/turn", "items/s", "commit p50 us",
           "commit p99 us", "commit max us");
    static const int per_turn[] = {1, 10, 100};
    int status = 0;
    for (int full = 1; full >= 0 && !status; full--) {
        for (size_t k = 0; k < sizeof per_turn / sizeof per_turn[0] && !status; k++) {
            double ips[99], p50[99], p99[99], mx = 0;
            for (int i = 0; i < runs; i++) {
                struct result r;
                if (run(dir, full, per_turn[k], turns, lat, &r) != 0) {
                    status = 1;
                    break;
                }
                ips[i] = r.items_per_s;
                p50[i] = r.p50_us;
                p99[i] = r.p99_us;
                if (r.max_us > mx) mx = r.max_us;
            }
            if (status) break;
            printf("%-7s %10d %12.0f %14.0f %14.0f %14.0f\n", full ? "FULL" : "NORMAL", per_turn[k],
                   median(ips, runs), median(p50, runs), median(p99, runs), mx);
            fflush(stdout);
        }
    }
    free(lat);
    remove_store(dir);
    rmdir(top);
    if (dg_alloc_live() != 0) {
        fprintf(stderr, "bench_store: %" PRId64 " allocations leaked\n", dg_alloc_live());
        status = 1;
    }
    return status;
}
