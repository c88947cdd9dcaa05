/* Private layout of pt_memory, shared by memory.c and its checkpoint code. */
#ifndef PT_MEMORY_INTERNAL_H
#define PT_MEMORY_INTERNAL_H

#include "internal.h"
#include "phasetower/memory.h"

struct pt_memory {
    pt_memory_config cfg;
    pt_c32 *P;        /* (in_dim, dim) projection; NULL when dim == in_dim */
    pt_c32 *M;        /* (capacity, dim) unit keys; zero rows are empty slots */
    int *label;       /* (capacity) label, -1 when empty */
    float *v;         /* (capacity) usage */
    size_t next;      /* circular pointer */
    size_t *freelist; /* (capacity) erased slots, possibly stale (see write) */
    size_t nfree;
    size_t count;     /* stored slots */
    pt_c32 *scratch;  /* (dim) the key being written */
};

/* Allocate (zeroed, all slots empty) without drawing the projection. */
pt_status pt_memory_alloc(const pt_memory_config *c, pt_memory **out);

#endif
