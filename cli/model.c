/* Loading and saving a tower with its episodic memory, through the
 * checkpoint envelope: the tower's part, the memory's part (on the tower's
 * output vectors), and no tensor that belongs to neither. */
#include "cli.h"

int cli_load_tower(const cli_cmd *c, const char *path, pt_tower **t, pt_memory **mem)
{
    *t = NULL;
    if (mem) *mem = NULL;
    pt_ckpt *ck = NULL;
    pt_memory *m = NULL;
    pt_status st = pt_ckpt_open(path, &ck);
    if (!st) st = pt_tower_from_ckpt(ck, t);
    if (!st) st = pt_memory_from_ckpt(ck, pt_tower_out_dim(*t), &m);
    if (!st) st = pt_ckpt_finish(ck);
    pt_ckpt_close(ck);
    if (st) {
        pt_memory_destroy(m);
        pt_tower_destroy(*t);
        *t = NULL;
        return cli_lib_error(c, st, NULL);
    }
    if (mem) *mem = m;
    else pt_memory_destroy(m);
    return 0;
}

pt_status cli_save_tower(const pt_tower *t, const pt_memory *mem, const char *path)
{
    pt_ckpt *c = NULL;
    pt_status st = pt_ckpt_create("tower", &c);
    if (!st) st = pt_tower_to_ckpt(t, c);
    if (!st && mem) st = pt_memory_to_ckpt(mem, c);
    if (!st) st = pt_ckpt_save(c, path);
    pt_ckpt_close(c);
    return st;
}
