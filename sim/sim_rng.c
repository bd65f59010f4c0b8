/*
 * sim_rng.c — splitmix64 (see sim_rng.h). The constants are the published
 * splitmix64 increment and finaliser multipliers.
 */
#include "sim_rng.h"

#define GOLDEN 0x9e3779b97f4a7c15ULL

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void dg_sim_rng_init(struct dg_sim_rng *rng, uint64_t seed, uint64_t stream)
{
    /* Mixing the stream through the finaliser keeps neighbouring streams
       (bed 1, bed 2) uncorrelated. */
    rng->state = mix(seed ^ mix(stream * GOLDEN + 1));
}

uint64_t dg_sim_rng_next(struct dg_sim_rng *rng)
{
    rng->state += GOLDEN;
    return mix(rng->state);
}

double dg_sim_rng_unit(struct dg_sim_rng *rng)
{
    /* 53 random bits -> [0, 1) exactly representable. */
    return (double)(dg_sim_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

double dg_sim_rng_uniform(struct dg_sim_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * dg_sim_rng_unit(rng);
}

uint64_t dg_sim_rng_incarnation(struct dg_sim_rng *rng, uint64_t old)
{
    uint64_t id;
    do
        id = dg_sim_rng_next(rng);
    while (id == 0 || id == old);
    return id;
}
