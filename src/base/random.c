/*
 * random.c - tags, branches and Call-IDs need values nobody can guess or
 * repeat (RFC 3261 sections 8.1.1.4, 8.1.1.7, 19.3). Each thread runs a
 * xoshiro256** generator seeded from the kernel's getrandom(), so the hot
 * path makes no system call.
 */
#include <parley/base.h>

#include <string.h>
#include <sys/random.h>
#include <time.h>

static _Thread_local uint64_t rng_state[4];
static _Thread_local bool rng_seeded;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static void rng_seed(void)
{
    uint64_t seed[4] = {0, 0, 0, 0};
    ssize_t got = getrandom(seed, sizeof(seed), 0);
    if (got != (ssize_t)sizeof(seed)) {
        /* No entropy source: fall back on time and address, still unique per thread. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30);
        seed[1] = (uint64_t)(uintptr_t)&rng_state;
        seed[2] = 0x9e3779b97f4a7c15ull;
        seed[3] = 0xbf58476d1ce4e5b9ull;
    }
    if ((seed[0] | seed[1] | seed[2] | seed[3]) == 0)
        seed[0] = 1;
    memcpy(rng_state, seed, sizeof(seed));
    rng_seeded = true;
}

uint64_t pl_random_u64(void)
{
    if (!rng_seeded)
        rng_seed();
    uint64_t *s = rng_state;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void pl_random_token(char *out, size_t n)
{
    static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    uint64_t r = 0;
    unsigned left = 0;
    for (size_t i = 0; i < n; i++) {
        if (left == 0) {
            r = pl_random_u64();
            left = 10; /* 10 draws of 6 bits each from 64 bits */
        }
        out[i] = alphabet[(r & 63u) % 62u];
        r >>= 6;
        left--;
    }
}
