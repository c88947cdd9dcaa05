/* Layer spec strings "K:frac,K:frac,..." and configuration validation. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tower/tower_internal.h"

pt_tower_config pt_tower_config_default(void)
{
    pt_tower_config c;
    memset(&c, 0, sizeof c);
    c.n_in = 784;
    c.n_classes = 10;
    c.n_blocks = 1;
    c.K[0] = 2304;
    c.frac[0] = 0.015625f; /* s = 36 */
    c.subspace = PT_SUBSPACE_AUTO; /* 56 principal components: docs/sparse.md */
    c.eta = 0.005f;
    c.eta_phase = 0.0f; /* the phase rule lowered validation accuracy: docs/design-notes.md */
    c.eta_skip = 0.01f;
    c.eta_code = 0.01f;
    c.target_mag = 0.3f;
    c.ridge = 1e-3f;
    c.rule = PT_RULE_LOCAL;
    c.readout = PT_READOUT_RIDGE;
    c.init = PT_INIT_IMPRINT;
    c.select = PT_SELECT_SOFT;
    c.batch = 256;
    c.seed = 1;
    c.death_steps = 5000;
    c.birth_tau = 0.7f;
    c.subspace_fit = PT_PCA_ITERATE;
    return c;
}

int pt_block_active(int K, float frac)
{
    long s = lroundf(frac * (float)K);
    if (s < 1) s = 1;
    if (s > K) s = K;
    return (int)s;
}

pt_status pt_tower_spec_parse(const char *spec, pt_tower_config *cfg)
{
    if (!spec || !*spec) return pt_fail(PT_EINVAL, "tower.layers: empty layer spec");
    int nb = 0;
    const char *p = spec;
    while (*p) {
        if (nb == PT_TOWER_MAXBLOCKS)
            return pt_fail(PT_EINVAL, "tower.layers '%s': more than %d blocks", spec, PT_TOWER_MAXBLOCKS);
        char *end;
        errno = 0;
        long K = strtol(p, &end, 10);
        if (end == p || *end != ':' || errno)
            return pt_fail(PT_EINVAL, "tower.layers '%s': block %d is not K:fraction", spec, nb + 1);
        if (K <= 0 || K > 1000000)
            return pt_fail(PT_EINVAL, "tower.layers '%s': block %d has K=%ld (must be 1..1000000)", spec, nb + 1, K);
        p = end + 1;
        errno = 0;
        double f = strtod(p, &end);
        if (end != p && errno == ERANGE)
            return pt_fail(PT_EINVAL, "tower.layers '%s': block %d fraction %.*s is out of a number's range", spec,
                           nb + 1, (int)(end - p), p);
        if (end == p || errno || (*end != ',' && *end != '\0'))
            return pt_fail(PT_EINVAL, "tower.layers '%s': block %d has no valid fraction after ':'", spec, nb + 1);
        if (!(f > 0.0 && f <= 1.0))
            return pt_fail(PT_EINVAL, "tower.layers '%s': block %d fraction %.*s outside (0,1]", spec, nb + 1,
                           (int)(end - p), p);
        if ((float)f == 0.0f)
            return pt_fail(PT_EINVAL, "tower.layers '%s': block %d fraction %.*s is 0 as a float (any fraction up to "
                           "0.5/K gives one active neuron)", spec, nb + 1, (int)(end - p), p);
        cfg->K[nb] = (int)K;
        cfg->frac[nb] = (float)f;
        nb++;
        p = end;
        if (*p == ',') {
            p++;
            if (!*p) return pt_fail(PT_EINVAL, "tower.layers '%s': trailing ','", spec);
        }
    }
    cfg->n_blocks = nb;
    return PT_OK;
}

/* The shortest of %.6g .. %.9g that reads back as the same float (%.9g
 * always does), so a spec written and parsed again is the same config. */
static int format_frac(char *buf, size_t len, float f)
{
    int w = 0;
    for (int digits = 6; digits <= 9; digits++) {
        w = snprintf(buf, len, "%.*g", digits, (double)f);
        if ((float)strtod(buf, NULL) == f) break; /* as pt_tower_spec_parse reads it */
    }
    return w;
}

void pt_tower_spec_format(const pt_tower_config *cfg, char *buf, size_t len)
{
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (int i = 0; i < cfg->n_blocks && used < len; i++) {
        char f[32];
        format_frac(f, sizeof f, cfg->frac[i]);
        int w = snprintf(buf + used, len - used, "%s%d:%s", i ? "," : "", cfg->K[i], f);
        if (w < 0) break;
        used += (size_t)w;
    }
}

static int bad_step(float v) { return !isfinite(v) || v < 0.0f; }

pt_status pt_tower_config_check(const pt_tower_config *c)
{
    if (c->n_in <= 0 || c->n_in > 1 << 20) return pt_fail(PT_EINVAL, "tower.n_in %d out of range", c->n_in);
    if (c->n_classes < 2 || c->n_classes > 256)
        return pt_fail(PT_EINVAL, "tower.n_classes %d outside 2..256", c->n_classes);
    if (c->n_blocks < 1 || c->n_blocks > PT_TOWER_MAXBLOCKS)
        return pt_fail(PT_EINVAL, "tower.layers: %d blocks, outside 1..%d", c->n_blocks, PT_TOWER_MAXBLOCKS);
    for (int i = 0; i < c->n_blocks; i++) {
        if (c->K[i] <= 0 || c->K[i] > 1000000) return pt_fail(PT_EINVAL, "tower.layers: block %d has K=%d, out of range", i + 1, c->K[i]);
        if (!(c->frac[i] > 0.0f && c->frac[i] <= 1.0f))
            return pt_fail(PT_EINVAL, "tower.layers: block %d fraction %g outside (0,1]", i + 1, (double)c->frac[i]);
    }
    if (bad_step(c->eta)) return pt_fail(PT_EINVAL, "tower.eta %g: must be a finite number >= 0", (double)c->eta);
    if (bad_step(c->eta_phase)) return pt_fail(PT_EINVAL, "tower.eta_phase %g: must be a finite number >= 0", (double)c->eta_phase);
    if (bad_step(c->eta_skip)) return pt_fail(PT_EINVAL, "tower.eta_skip %g: must be a finite number >= 0", (double)c->eta_skip);
    if (bad_step(c->eta_code)) return pt_fail(PT_EINVAL, "tower.eta_code %g: must be a finite number >= 0", (double)c->eta_code);
    if (!isfinite(c->target_mag) || c->target_mag <= 0.0f)
        return pt_fail(PT_EINVAL, "tower.target_mag %g: must be a finite number > 0", (double)c->target_mag);
    if (!isfinite(c->ridge) || c->ridge <= 0.0f)
        return pt_fail(PT_EINVAL, "tower.ridge %g: must be a finite number > 0", (double)c->ridge);
    if ((unsigned)c->rule > PT_RULE_PAPER) return pt_fail(PT_EINVAL, "tower.rule: unknown value %d", (int)c->rule);
    if ((unsigned)c->readout > PT_READOUT_CODE) return pt_fail(PT_EINVAL, "tower.readout: unknown value %d", (int)c->readout);
    if ((unsigned)c->init > PT_INIT_RANDOM) return pt_fail(PT_EINVAL, "tower.init: unknown value %d", (int)c->init);
    if ((unsigned)c->select > PT_SELECT_HARD) return pt_fail(PT_EINVAL, "tower.select: unknown value %d", (int)c->select);
    if (c->batch < 1 || c->batch > 4096) return pt_fail(PT_EINVAL, "tower.batch %d outside 1..4096", c->batch);
    if (c->death_steps < 1 || c->death_steps > 1000000000)
        return pt_fail(PT_EINVAL, "tower.death_steps %d outside 1..1000000000", c->death_steps);
    if (!(c->birth_tau > 0.0f && c->birth_tau <= 1.0f))
        return pt_fail(PT_EINVAL, "tower.birth_tau %g: must lie in (0, 1]", (double)c->birth_tau);
    if (c->subspace != PT_SUBSPACE_AUTO && (c->subspace < 0 || c->subspace >= c->n_in))
        return pt_fail(PT_EINVAL, "tower.subspace %d: must be 0 (off) or below the input size %d", c->subspace, c->n_in);
    if (c->route < 0 || c->route >= c->n_in)
        return pt_fail(PT_EINVAL, "tower.route %d: must be 0 (off) or below the input size %d", c->route, c->n_in);
    if (c->route > 0 && (c->subspace > 0 || c->n_blocks != 1))
        return pt_fail(PT_EINVAL, "tower.route %d needs a one-block tower whose block 0 reads pixels (tower.subspace 0)",
                       c->route);
    if ((unsigned)c->subspace_fit > PT_PCA_ITERATE)
        return pt_fail(PT_EINVAL, "tower.subspace_fit: unknown value %d", (int)c->subspace_fit);
    int Klast = c->K[c->n_blocks - 1];
    if (c->max_neurons != 0 && (c->max_neurons < Klast || c->max_neurons > 1000000))
        return pt_fail(PT_EINVAL, "tower.max_neurons %d: must be 0 (K + K/4) or between the last block's K (%d) and 1000000",
                       c->max_neurons, Klast);
    return PT_OK;
}
