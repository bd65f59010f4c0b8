/*
 * sim_rng.h — a small deterministic random number generator for the
 * simulator's models (splitmix64).
 *
 * Why not rand(): the models must give the same numbers for the same --seed
 * on every platform and libc, and each device needs its own independent
 * stream so adding a bed does not change the numbers of the others.
 */
#ifndef DG_SIM_RNG_H
#define DG_SIM_RNG_H

#include <stdint.h>

struct dg_sim_rng {
    uint64_t state;
};

/* Seed a stream from the run seed and a stream number (e.g. bed index * 4 + device). */
void dg_sim_rng_init(struct dg_sim_rng *rng, uint64_t seed, uint64_t stream);
/* Next 64 random bits. */
uint64_t dg_sim_rng_next(struct dg_sim_rng *rng);
/* Uniform in [0, 1). */
double dg_sim_rng_unit(struct dg_sim_rng *rng);
/* Uniform in [lo, hi). */
double dg_sim_rng_uniform(struct dg_sim_rng *rng, double lo, double hi);
/*
 * A device's boot id (PumpTelemetry/VitalsSample.incarnation): the next draw
 * that is neither 0 (the wire's "absent") nor old, the id of the boot before
 * (0 at the first boot), so a reboot is never taken for the same boot.
 */
uint64_t dg_sim_rng_incarnation(struct dg_sim_rng *rng, uint64_t old);

#endif
