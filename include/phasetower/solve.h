/* Fixed-point solvers (family-neutral): find z* = f(z*) for a map f on n
 * floats (a complex state is its interleaved real and imaginary parts), as a
 * deep-equilibrium model or a settling network needs. Every solve reports
 * what happened in an info struct (iterations, residual history, converged)
 * and returns PT_ENOCONV instead of silently handing back the last iterate
 * when it did not converge; it checks isfinite at every step.
 *  - NAIVE: damped iteration z <- (1 - a) z + a f(z).
 *  - ANDERSON: Anderson acceleration of type II over the last m residuals
 *    (Walker & Ni 2011), a small regularized least-squares problem per step,
 *    damped by a.
 * The residual of step t is ||f(z_t) - z_t|| / (||f(z_t)|| + 1e-30); the solve
 * converges when it falls below tol. docs/numerics.md derives both. */
#ifndef PHASETOWER_SOLVE_H
#define PHASETOWER_SOLVE_H

#include "phasetower/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* fz (n) = f(z (n)); z and fz never alias. A status other than PT_OK stops
 * the solve and is returned as is. */
typedef pt_status (*pt_fixpoint_fn)(void *user, const float *z, float *fz);

typedef enum pt_fixpoint_method { PT_FIXPOINT_NAIVE = 0, PT_FIXPOINT_ANDERSON = 1 } pt_fixpoint_method;

typedef struct pt_fixpoint_config {
    pt_fixpoint_method method; /* default ANDERSON */
    int max_iter;              /* 1..100000 (default 50) */
    double tol;                /* relative residual to reach, > 0 (default 1e-4) */
    float damping;             /* a in (0, 1] (default 1) */
    int memory;                /* Anderson: residuals kept, 1..64 (default 5) */
    double lambda;             /* Anderson: Tikhonov term of the least squares, >= 0 (default 1e-8),
                                * relative to the mean squared norm of the residual differences
                                * (so it does not depend on the units of z) */
    double restart;            /* Anderson's safeguard: when a residual exceeds restart times the
                                * smallest one so far, the history is dropped and the step is the
                                * damped naive one (>= 1, default 10; 0: never) */
    int group;                 /* batches: problems stepped together, each group to the end before
                                * the next (>= 0, default 0: all). The results do not depend on it;
                                * small groups keep Anderson's histories in cache. */
} pt_fixpoint_config;

typedef struct pt_fixpoint_info {
    int iterations;   /* evaluations of f that returned PT_OK */
    int converged;    /* 1 when the residual fell below tol */
    double residual;  /* the last residual (NaN before the first evaluation or
                       * when f(z) was not finite) */
    /* input, optional, caller-owned: residual of each iteration (max_iter
     * entries), or NULL. Set it before the call: an uninitialized info is
     * not safe to pass. */
    double *history;
    int nonfinite;    /* 1 when f(z) or the next iterate turned non-finite (residual NaN) */
    int restarts;     /* times Anderson's safeguard dropped the history */
    double work;      /* evaluations of f in fine-grid equivalents: the iterations, except for
                       * multigrid (an evaluation on level l counts 4^-l) */
    /* input, optional, caller-owned like history: the work done when each
     * history entry was measured (max_iter entries), or NULL */
    double *work_history;
} pt_fixpoint_info;

typedef struct pt_fixpoint pt_fixpoint;

pt_fixpoint_config pt_fixpoint_config_default(void);
pt_status pt_fixpoint_config_check(const pt_fixpoint_config *c); /* PT_EINVAL naming the field */
/* Workspace for states of n floats (allocated once: solves never allocate). */
pt_status pt_fixpoint_create(const pt_fixpoint_config *c, size_t n, pt_fixpoint **out);
void pt_fixpoint_destroy(pt_fixpoint *s);
/* Iterate from z (n, in: the start; out: the last iterate f was evaluated
 * at, the one whose residual info reports: the fixed point when converged).
 * info (may be NULL) is filled in every case. PT_ENOCONV when max_iter
 * evaluations did not reach tol or a value turned non-finite (the message
 * says which; z then holds the last finite iterate); f's own failure is
 * passed through. PT_EINVAL when the start is not finite. One solve at a
 * time per solver (the workspace is shared); never allocates. */
pt_status pt_fixpoint_solve(pt_fixpoint *s, pt_fixpoint_fn f, void *user, float *z, pt_fixpoint_info *info);

/* ---- many independent fixed points side by side (a mini-batch) ----
 * nb problems of n floats each, solved as if one at a time (each its own
 * Anderson history, residual and stop), but with f evaluated on all the
 * problems still running at once, so that a model can use one matrix
 * product for the whole batch. A problem that converged is frozen: f is not
 * called on it again. */
/* fz (na, n) = f(z (na, n)) for the na running problems, packed in order;
 * items[j] (0..nb-1) says which problem row j is. */
typedef pt_status (*pt_fixpoint_batch_fn)(void *user, const float *z, float *fz, const size_t *items, size_t na);
/* Workspace for up to nb problems of n floats (a solve never allocates). */
pt_status pt_fixpoint_create_batch(const pt_fixpoint_config *c, size_t n, size_t nb, pt_fixpoint **out);
/* Solve nb (<= the workspace's) problems from z (nb, n; out: each one's last
 * iterate, as for pt_fixpoint_solve). info (nb entries, required; history
 * set or NULL in each) gets each problem's own report. Returns PT_OK when
 * every problem ran to its end, converged or not: never silently, since
 * each info says whether it converged or turned non-finite (a problem that
 * did is stopped at its last finite iterate). PT_EINVAL for a non-finite
 * start; f's own failure is passed through. */
pt_status pt_fixpoint_solve_batch(pt_fixpoint *s, pt_fixpoint_batch_fn f, void *user, float *z, size_t nb,
                                  pt_fixpoint_info *info);

/* ---- multigrid: a nonlinear V-cycle (FAS) on a torus ----
 * For states on a periodic height x width grid with ch floats per site
 * (site-major: the ch floats of site (y, x) at (y width + x) ch). Level l has
 * (height >> l) x (width >> l) sites; the caller gives F on every level.
 * Each cycle: pre smoothing steps z <- z + a (F(z) + rhs - z), the coarse
 * correction (restrict z and the residual by 2 x 2 averages, solve the
 * coarse problem by the same cycle, add the change back to the four fine
 * sites of each coarse one), post smoothing; the coarsest level smooths
 * until its residual fell a hundredfold, or coarse steps. The fine residual ||F(z) - z|| / ||F(z)|| is measured before
 * every cycle; info.iterations counts cycles, info.work the evaluations in
 * fine-grid equivalents, info.history (max_cycles entries) the residual per
 * cycle. docs/numerics.md derives it. */
typedef struct pt_multigrid_config {
    int levels;      /* grids, the fine one included, 1..8 (default 3: 28 -> 14 -> 7) */
    int pre, post;   /* smoothing steps around the coarse correction, 0..100 each, >= 1 in all (default 2, 2) */
    int coarse;      /* smoothing steps on the coarsest grid at most, 1..10000 (default 200) */
    float damping;   /* a of the smoothing steps, (0, 1] (default 1) */
    int max_cycles;  /* 1..100000 (default 50) */
    double tol;      /* relative residual on the fine grid, > 0 (default 1e-4) */
} pt_multigrid_config;
typedef struct pt_multigrid pt_multigrid;
/* fz = F_level(z) for na packed problems on level `level`; items as for the batch solve */
typedef pt_status (*pt_multigrid_fn)(void *user, int level, const float *z, float *fz, const size_t *items, size_t na);

pt_multigrid_config pt_multigrid_config_default(void);
pt_status pt_multigrid_config_check(const pt_multigrid_config *c);
/* How many levels a height x width grid allows (each halving needs even sides of at least 4). */
int pt_multigrid_max_levels(int height, int width);
/* PT_EINVAL when levels exceeds what the grid allows: the message says how many it allows. */
pt_status pt_multigrid_create(const pt_multigrid_config *c, int height, int width, int ch, size_t nb,
                              pt_multigrid **out);
void pt_multigrid_destroy(pt_multigrid *s);
/* coarse (n problems on level + 1) = the 2 x 2 averages of fine (level), as the cycle restricts. */
void pt_multigrid_restrict(const pt_multigrid *s, int level, const float *fine, float *coarse, size_t n);
/* As pt_fixpoint_solve_batch: z (nb, height width ch) in/out, info (nb). */
pt_status pt_multigrid_solve(pt_multigrid *s, pt_multigrid_fn f, void *user, float *z, size_t nb,
                             pt_fixpoint_info *info);

#ifdef __cplusplus
}
#endif
#endif
