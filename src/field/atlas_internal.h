/* The text atlas's private layout, shared by atlas.c and atlas_io.c (and its
 * own test) only. */
#ifndef PT_FIELD_ATLAS_INTERNAL_H
#define PT_FIELD_ATLAS_INTERNAL_H

#include "phasetower/field.h"
#include "phasetower/optim.h"

struct pt_atlas {
    pt_atlas_config cfg;          /* max_res resolved */
    int nb;                       /* books */
    size_t *len;                  /* (nb) their lengths */
    size_t C;                     /* alphabet size */
    uint32_t *alpha;              /* (C) ascending code points */
    int P;                        /* features: 1 + 2 octaves + levels F */
    int res[PT_ATLAS_MAX_LEVELS];        /* grid cells of each level */
    size_t ent[PT_ATLAS_MAX_LEVELS];     /* table entries of each level: min(2^table_log2, res + 1) */
    size_t toff[PT_ATLAS_MAX_LEVELS + 1];/* first entry of each level; toff[levels] = all entries */
    size_t off[PT_ATLAS_PARTS + 1];      /* parts of theta (floats) */
    size_t np;                    /* parameters (floats) */
    float *theta;
    pt_adam *adam, *adam_table;   /* the dense parts [0, off[TABLES]) and the tables (NULL without levels) */
    pt_rng rng;                   /* shuffling */
    double loss, updated;         /* of the last epoch */
};

/* Fill res, ent, toff, P, off and np from cfg (max_res resolved), nb and C. */
void pt_atlas_layout(pt_atlas *m);

/* An atlas with this configuration (max_res resolved, >= base_res), alphabet
 * (C ascending distinct code points, copied) and book lengths (nb, copied),
 * its parameters zero. PT_EINVAL naming the field, PT_ENOMEM. */
pt_status pt_atlas_alloc(const pt_atlas_config *c, const uint32_t *alpha, size_t C, const size_t *len, int nb,
                         pt_atlas **out);

#endif
