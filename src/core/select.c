/* Top-s selection shared by the tower (active neurons) and the memory
 * (nearest slots): a min-heap over the scores, deterministic on ties. */
#include "internal.h"

/* Ordering for selection: larger score first, then lower index (deterministic). */
static int better(float a, int ia, float b, int ib) { return a > b || (a == b && ia < ib); }

/* Top-s of scores[0..K) into idx[0..s) (unordered) with a min-heap: O(K log s).
 * idx[0] is the worst selected. */
void pt_select_top(int *restrict idx, const float *restrict sc, int K, int s)
{
    int n = s < K ? s : K;
    for (int c = 0; c < n; c++) { /* heap of the first n: sift up, the parent must be the worse */
        idx[c] = c;
        for (int i = c; i > 0;) {
            int p = (i - 1) / 2;
            if (!better(sc[idx[p]], idx[p], sc[idx[i]], idx[i])) break;
            int tmp = idx[p]; idx[p] = idx[i]; idx[i] = tmp;
            i = p;
        }
    }
    /* Every later k has a higher index than all in the heap, so it can only
     * win by a strictly larger score: one compare against the cached root. */
    float thr = n ? sc[idx[0]] : 0.0f;
    for (int k = n; k < K; k++) {
        if (!(sc[k] > thr)) continue;
        idx[0] = k;
        for (int c = 0;;) { /* sift down */
            int l = 2 * c + 1, r = l + 1, m = c;
            if (l < n && better(sc[idx[m]], idx[m], sc[idx[l]], idx[l])) m = l;
            if (r < n && better(sc[idx[m]], idx[m], sc[idx[r]], idx[r])) m = r;
            if (m == c) break;
            int tmp = idx[m]; idx[m] = idx[c]; idx[c] = tmp;
            c = m;
        }
        thr = sc[idx[0]];
    }
}
