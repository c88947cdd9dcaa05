/* phasetower atlas: the coordinate text atlas of the fractal neural field
 * family (docs/atlas.md). train learns one book (--text) or a master on a
 * library of books, each with its key (--library DIR); decode reads a book
 * back (argmax per coordinate) and scores it against the original; key
 * learns a new book's key with the master frozen; info describes a file. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static const char *USAGE =
    "usage: phasetower atlas train|decode|key|info [options]   (phasetower atlas <sub> --help)\n\n"
    "The coordinate text atlas: a model of the map from a coordinate x in [0, 1] (the\n"
    "position of a symbol in a book) to the symbol there, through Fourier and hash-grid\n"
    "features and one spectrally normalised complex kernel iterated --iters times.\n"
    "  train   learn one book (--text FILE) or a master on a library (--library DIR)\n"
    "  decode  reconstruct a book (argmax per coordinate); with --text, score it\n"
    "  key     learn a new book's key with the master frozen\n"
    "  info    describe an atlas or key file";

/* ---- books ---- */

typedef struct book {
    const char *path; /* as given (train --text, key --text) or DIR/name (owned when from a library) */
    char *owned;
    uint32_t *sym;
    size_t n;
} book;

static void book_free(book *b)
{
    free(b->owned), free(b->sym);
    memset(b, 0, sizeof *b);
}

/* Read path as a UTF-8 book: 0, or one line naming flag and path and EXIT_USAGE. */
static int read_book(const char *cmd, const char *flag, const char *path, book *b)
{
    memset(b, 0, sizeof *b);
    b->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error(cmd, EXIT_USAGE, "%s %s: cannot open: %s", flag, path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return cli_error(cmd, EXIT_USAGE, "%s %s: not a regular file", flag, path);
    }
    size_t len = (size_t)sb.st_size;
    if (len == 0) {
        fclose(f);
        return cli_error(cmd, EXIT_USAGE, "%s %s: empty: a book needs at least one symbol", flag, path);
    }
    if (len > 4 * PT_ATLAS_MAX_BOOK) {
        fclose(f);
        return cli_error(cmd, EXIT_USAGE, "%s %s: %zu bytes, more than a book may hold (%zu symbols)", flag, path, len,
                         PT_ATLAS_MAX_BOOK);
    }
    uint8_t *buf = malloc(len);
    b->sym = malloc(len * sizeof *b->sym);
    if (!buf || !b->sym) {
        fclose(f), free(buf), book_free(b);
        return cli_error(cmd, EXIT_RUNTIME, "out of memory");
    }
    size_t got = fread(buf, 1, len, f);
    int short_read = got != len || ferror(f);
    fclose(f);
    if (short_read) {
        free(buf), book_free(b);
        return cli_error(cmd, EXIT_USAGE, "%s %s: read %zu of %zu bytes", flag, path, got, len);
    }
    pt_status st = pt_atlas_utf8_decode(buf, len, b->sym, &b->n);
    free(buf);
    if (st) {
        book_free(b);
        return cli_error(cmd, EXIT_USAGE, "%s %s: not UTF-8: %s", flag, path, pt_errmsg());
    }
    if (b->n > PT_ATLAS_MAX_BOOK) {
        size_t n = b->n;
        book_free(b);
        return cli_error(cmd, EXIT_USAGE, "%s %s: %zu symbols, more than %zu", flag, path, n, PT_ATLAS_MAX_BOOK);
    }
    b->path = path;
    return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every regular file of dir whose name does not start with '.', sorted by
 * name, as books. 0 or the exit code. */
static int read_library(const char *cmd, const char *dir, book **out, int *nb)
{
    *out = NULL, *nb = 0;
    DIR *d = opendir(dir);
    if (!d) return cli_error(cmd, EXIT_USAGE, "--library %s: cannot open the directory: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = malloc(strlen(dir) + strlen(e->d_name) + 2);
        struct stat sb;
        if (!p) {
            rc = cli_error(cmd, EXIT_RUNTIME, "out of memory");
            break;
        }
        sprintf(p, "%s/%s", dir, e->d_name);
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(p);
            continue;
        }
        if (n == PT_ATLAS_MAX_BOOKS) {
            free(p);
            rc = cli_error(cmd, EXIT_USAGE, "--library %s: more than %d books", dir, PT_ATLAS_MAX_BOOKS);
            break;
        }
        if (n == cap) {
            char **t = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!t) {
                free(p);
                rc = cli_error(cmd, EXIT_RUNTIME, "out of memory");
                break;
            }
            names = t;
        }
        names[n++] = p;
    }
    closedir(d);
    if (!rc && n == 0) rc = cli_error(cmd, EXIT_USAGE, "--library %s: no book (regular file) in the directory", dir);
    book *books = rc ? NULL : calloc(n, sizeof *books);
    if (!rc && !books) rc = cli_error(cmd, EXIT_RUNTIME, "out of memory");
    if (!rc) qsort(names, n, sizeof *names, by_name);
    size_t i = 0;
    for (; !rc && i < n; i++) {
        if ((rc = read_book(cmd, "--library", names[i], &books[i]))) break;
        books[i].owned = names[i];
        names[i] = NULL;
    }
    for (size_t k = 0; k < n; k++) free(names[k]);
    free(names);
    if (rc) {
        for (size_t k = 0; books && k < n; k++) book_free(&books[k]);
        free(books);
        return rc;
    }
    *out = books, *nb = (int)n;
    return 0;
}

/* Whether option name was given */
static int given(const opt *opts, const char *name)
{
    for (const opt *o = opts; o->name; o++)
        if (!strcmp(o->name, name)) return o->seen;
    return 0;
}

/* The file name of a path */
static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* The unigram baseline of a book over the alphabet: the accuracy of always
 * the most frequent symbol and the entropy (bits) of the symbol distribution. */
static void unigram(const pt_atlas *m, const uint32_t *sym, size_t n, double *acc, double *bits)
{
    size_t C = 0;
    const uint32_t *al = pt_atlas_alphabet(m, &C);
    size_t *cnt = calloc(C, sizeof *cnt), best = 0;
    *acc = *bits = 0.0;
    if (!cnt) return;
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = C;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (al[mid] < sym[i]) lo = mid + 1;
            else hi = mid;
        }
        if (lo < C && al[lo] == sym[i]) cnt[lo]++;
    }
    for (size_t k = 0; k < C; k++) {
        if (cnt[k] > best) best = cnt[k];
        if (cnt[k]) *bits -= (double)cnt[k] / (double)n * log2((double)cnt[k] / (double)n);
    }
    *acc = (double)best / (double)n;
    free(cnt);
}

static long long file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* progress over several epochs of one bar */
typedef struct epochs_progress {
    cli_progress bar;
    size_t epoch, epochs;
} epochs_progress;

static void epochs_cb(size_t done, size_t total, void *user)
{
    epochs_progress *p = user;
    cli_progress_cb(p->epoch * total + done, p->epochs * total, &p->bar);
}

/* ---- train ---- */

static const char *TRAIN_USAGE =
    "usage: phasetower atlas train (--text FILE | --library DIR) --out MODEL [--dim 32] [--iters 4]\n"
    "                              [--levels 16] [--table-log2 14] [--features 2] [--octaves 12]\n"
    "                              [--base-res 16] [--max-res 0] [--key-size K] [--epochs 20] [--lr 0.003]\n"
    "                              [--lr-table 0.01] [--batch 256] [--dense] [--seed 1] [--json]\n\n"
    "Learns a book (--text, UTF-8) as the map from the coordinate (i + 1/2) / n of its\n"
    "symbol i to that symbol, or a master on a library (--library DIR: every regular file\n"
    "of DIR not starting with '.', in name order, is a book; each gets a key of --key-size\n"
    "numbers, the rest is shared). Adam on the cross-entropy, hand-written gradients;\n"
    "the hash tables get sparse (lazy) updates unless --dense. Reports, per book, the\n"
    "accuracy of the argmax and the bits per symbol, with the unigram baseline.";

static int atlas_train(int argc, char **argv)
{
    pt_atlas_config c = pt_atlas_config_default();
    const char *text = NULL, *lib = NULL, *out = NULL;
    int epochs = 20, dense = 0, json = 0, quiet = 0, force = 0;
    opt opts[] = {
        {"text", OPT_STR, &text, "the book to learn (UTF-8)", 0, 0, NULL, 0},
        {"library", OPT_STR, &lib, "a directory of books: train a master with a key per book", 0, 0, NULL, 0},
        {"out", OPT_STR, &out, "save the atlas (safetensors) to this file (required)", 0, 0, NULL, 0},
        {"dim", OPT_INT, &c.dim, "D, complex state (default 32)", 1, 1024, "atlas.dim", 0},
        {"iters", OPT_INT, &c.iters, "applications of the shared kernel (default 4)", 1, 64, "atlas.iters", 0},
        {"rho", OPT_FLOAT, &c.rho, "spectral norm of the kernel, in (0, 1) (default 0.9)", -1e30, 1e30, "atlas.rho", 0},
        {"octaves", OPT_INT, &c.octaves, "Fourier octaves sin/cos(2^k pi x) (default 12)", 0, 30, "atlas.octaves", 0},
        {"levels", OPT_INT, &c.levels, "hash-grid levels (default 16)", 0, PT_ATLAS_MAX_LEVELS, "atlas.levels", 0},
        {"table-log2", OPT_INT, &c.table_log2, "at most 2^N entries per level (default 14)", 1, 26, "atlas.table_log2", 0},
        {"features", OPT_INT, &c.features, "floats per table entry (default 2)", 1, 16, "atlas.features", 0},
        {"base-res", OPT_INT, &c.base_res, "grid cells of the coarsest level (default 16)", 1, 1 << 30, "atlas.base_res", 0},
        {"max-res", OPT_INT, &c.max_res, "grid cells of the finest level; 0: one per symbol of the longest book (default)",
         0, 1 << 30, "atlas.max_res", 0},
        {"key-size", OPT_INT, &c.key_size, "numbers in each book's key (default 0; 32 with --library)", 0, 1024,
         "atlas.key_size", 0},
        {"epochs", OPT_INT, &epochs, "passes over the books (default 20)", 1, 100000, NULL, 0},
        {"lr", OPT_FLOAT, &c.lr, "Adam step of kernel, features, readout, keys (default 0.003)", -1e30, 1e30, "atlas.lr", 0},
        {"lr-table", OPT_FLOAT, &c.lr_table, "Adam step of the hash tables (default 0.01)", -1e30, 1e30, "atlas.lr_table", 0},
        {"batch", OPT_INT, &c.batch, "symbols per mini-batch (default 256)", 1, 65536, "atlas.batch", 0},
        {"dense", OPT_FLAG, &dense, "dense Adam over every table entry each step (default: sparse)", 0, 0, NULL, 0},
        {"seed", OPT_U64, &c.seed, "random seed (default 1)", 1, 0, NULL, 0},
        OPT_FORCE(&force),
        OPT_JSON(&json),
        {"quiet", OPT_FLAG, &quiet, "no progress on stderr", 0, 0, NULL, 0},
        OPT_END,
    };
    cli_cmd k = {"atlas train", TRAIN_USAGE, opts, "atlas train", "dim iters levels table-log2 features max-res key-size batch"};
    CLI_PARSE(&k, argc, argv, NULL);
    if (!text == !lib) return cli_error(k.name, EXIT_USAGE, "give one of --text FILE or --library DIR (see --help)");
    if (!out) return cli_error(k.name, EXIT_USAGE, "--out is required (see --help)");
    if (lib && !given(opts, "key-size")) c.key_size = 32;
    c.sparse = !dense;
    int rc;
    if (pt_atlas_config_check(&c)) return cli_lib_error(&k, PT_EINVAL, NULL);
    if ((rc = cli_check_out(k.name, "--out", out, force))) return rc;
    book *books = NULL;
    int nb = 0;
    if (text) {
        if (!(books = calloc(1, sizeof *books))) return cli_error(k.name, EXIT_RUNTIME, "out of memory");
        if ((rc = read_book(k.name, "--text", text, books))) {
            free(books);
            return rc;
        }
        nb = 1;
    } else if ((rc = read_library(k.name, lib, &books, &nb))) {
        return rc;
    }
    if (nb > 1 && c.key_size == 0) {
        for (int b = 0; b < nb; b++) book_free(&books[b]);
        free(books);
        return cli_error(k.name, EXIT_USAGE, "--key-size 0 with %d books: the books could not be told apart", nb);
    }
    pt_set_threads(1);
    pt_atlas_text *t = calloc((size_t)nb, sizeof *t);
    pt_atlas *m = NULL;
    pt_status st = PT_OK;
    double secs = 0.0;
    if (!t) {
        rc = cli_error(k.name, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    for (int b = 0; b < nb; b++) t[b].sym = books[b].sym, t[b].n = books[b].n;
    if ((st = pt_atlas_create(&c, t, nb, &m))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    epochs_progress pr = {.epochs = (size_t)epochs};
    cli_progress_init(&pr.bar, "atlas train", quiet || json);
    for (int e = 0; e < epochs; e++) {
        double t0 = cli_now();
        pr.epoch = (size_t)e;
        st = pt_atlas_train(m, t, nb, epochs_cb, &pr);
        secs += cli_now() - t0;
        if (st) {
            cli_progress_end(&pr.bar);
            rc = cli_lib_error(&k, st, "training failed") == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
            goto done;
        }
        if (!quiet && !json && !pr.bar.enabled)
            fprintf(stderr, "epoch %d/%d: loss %.4f nats (%.3f bits) per symbol, %.1f s\n", e + 1, epochs, pt_atlas_loss(m),
                    pt_atlas_loss(m) / log(2.0), secs);
    }
    cli_progress_end(&pr.bar);
    if ((st = pt_atlas_save(m, out))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    const pt_atlas_config *g = pt_atlas_get_config(m);
    size_t C = 0, total = 0, np = pt_atlas_param_count(m);
    pt_atlas_alphabet(m, &C);
    cli_report *r = rep_new(json);
    if (r) {
        rep_str(r, "model", "atlas"), rep_int(r, "books", nb), rep_int(r, "symbols", (long long)C);
        rep_int(r, "params", (long long)np), rep_int(r, "param_bytes_f32", (long long)(np * sizeof(float)));
        rep_int(r, "file_bytes", file_bytes(out)), rep_num(r, "train_seconds", secs, 3), rep_int(r, "epochs", epochs);
        rep_num(r, "train_loss", pt_atlas_loss(m), 6), rep_num(r, "updated_fraction", pt_atlas_updated_fraction(m), 6);
        rep_bool(r, "sparse", g->sparse), rep_int(r, "dim", g->dim), rep_int(r, "iters", g->iters);
        rep_int(r, "levels", g->levels), rep_int(r, "table_log2", g->table_log2), rep_int(r, "features", g->features);
        rep_int(r, "octaves", g->octaves), rep_int(r, "max_res", g->max_res), rep_int(r, "key_size", g->key_size);
        rep_int(r, "seed", (long long)g->seed);
        rep_text(r, "atlas: %d book%s, %zu symbols in the alphabet, D %d, %d iterations, %d levels of up to 2^%d x %d, "
                    "key %d; %d epochs in %.1f s (%s table updates, %.4f of the entries per step)\n",
                 nb, nb == 1 ? "" : "s", C, g->dim, g->iters, g->levels, g->table_log2, g->features, g->key_size, epochs,
                 secs, g->sparse ? "sparse" : "dense", pt_atlas_updated_fraction(m));
        rep_push(r, "per_book", 0);
        double sacc = 0.0, sbits = 0.0;
        for (int b = 0; b < nb; b++) {
            double acc = 0.0, bpc = 0.0, uacc = 0.0, ubits = 0.0;
            if ((st = pt_atlas_score(m, pt_atlas_key(m, b), &t[b], &acc, &bpc))) break;
            unigram(m, t[b].sym, t[b].n, &uacc, &ubits);
            sacc += acc * (double)t[b].n, sbits += bpc * (double)t[b].n, total += t[b].n;
            rep_push(r, base_name(books[b].path), 0);
            rep_int(r, "length", (long long)t[b].n), rep_num(r, "accuracy", acc, 6), rep_num(r, "bits_per_symbol", bpc, 6);
            rep_num(r, "unigram_accuracy", uacc, 6), rep_num(r, "unigram_bits", ubits, 6);
            rep_pop(r);
            rep_text(r, "  %s: %zu symbols, accuracy %.2f%%, %.3f bits/symbol (unigram: %.2f%%, %.3f bits)\n",
                     books[b].path, t[b].n, 100.0 * acc, bpc, 100.0 * uacc, ubits);
        }
        rep_pop(r);
        if (!st) {
            rep_num(r, "accuracy", sacc / (double)total, 6), rep_num(r, "bits_per_symbol", sbits / (double)total, 6);
            rep_text(r, "parameters %zu (%zu bytes as float32), saved to %s (%lld bytes)\n", np, np * sizeof(float), out,
                     file_bytes(out));
        }
    }
    if (st) {
        rep_discard(r);
        rc = cli_lib_error(&k, st, NULL);
    } else {
        rc = rep_end(r);
    }
done:
    pt_atlas_destroy(m);
    for (int b = 0; b < nb; b++) book_free(&books[b]);
    free(books), free(t);
    return rc;
}

/* ---- decode ---- */

static const char *DECODE_USAGE =
    "usage: phasetower atlas decode --model MODEL [--book I | --key KEY] [--out FILE] [--text FILE] [--json]\n\n"
    "Reconstructs a book from an atlas: the argmax symbol at each coordinate of book I\n"
    "of the model (default 0; the books of a library in name order), or of the new book\n"
    "whose key file KEY 'atlas key' wrote for this master. --out writes the text (UTF-8);\n"
    "--text FILE, the original, reports the accuracy, the bits per symbol (the mean of\n"
    "-log2 p of each true symbol) and the unigram baseline.";

typedef struct bytes_out {
    const uint8_t *p;
    size_t n;
} bytes_out;

static pt_status put_bytes(FILE *f, void *user)
{
    const bytes_out *b = user;
    if (b->n) (void)fwrite(b->p, 1, b->n, f); /* a short write leaves the stream's error flag, which fails the write */
    return PT_OK;
}

/* Load an atlas: 0 or the exit code (every tensor accounted for). */
static int load_atlas(const cli_cmd *k, const char *path, pt_atlas **m)
{
    pt_status st = pt_atlas_load(path, m);
    return st ? cli_lib_error(k, st, NULL) : 0;
}

static int atlas_decode(int argc, char **argv)
{
    const char *model = NULL, *keyp = NULL, *out = NULL, *text = NULL;
    int bk = 0, json = 0, force = 0;
    opt opts[] = {
        {"model", OPT_STR, &model, "the atlas (required)", 0, 0, NULL, 0},
        {"book", OPT_INT, &bk, "which book of the atlas (default 0)", 0, PT_ATLAS_MAX_BOOKS - 1, NULL, 0},
        {"key", OPT_STR, &keyp, "a key file from 'atlas key' for this master: decode that book", 0, 0, NULL, 0},
        {"out", OPT_STR, &out, "write the reconstructed text (UTF-8) to this file", 0, 0, NULL, 0},
        {"text", OPT_STR, &text, "the original, to score the reconstruction against", 0, 0, NULL, 0},
        OPT_FORCE(&force),
        OPT_JSON(&json),
        OPT_END,
    };
    cli_cmd k = {"atlas decode", DECODE_USAGE, opts, "atlas decode", NULL};
    CLI_PARSE(&k, argc, argv, NULL);
    if (!model) return cli_error(k.name, EXIT_USAGE, "--model is required (see --help)");
    if (keyp && given(opts, "book")) return cli_error(k.name, EXIT_USAGE, "--book and --key exclude each other");
    int rc;
    if (out && (rc = cli_check_out(k.name, "--out", out, force))) return rc;
    pt_set_threads(1);
    pt_atlas *m = NULL;
    if ((rc = load_atlas(&k, model, &m))) return rc;
    const pt_atlas_config *g = pt_atlas_get_config(m);
    float *key = calloc((size_t)g->key_size + 1, sizeof *key);
    uint32_t *dec = NULL;
    uint8_t *utf = NULL;
    book orig = {0};
    size_t n = 0;
    int ksize = 0;
    pt_status st = PT_OK;
    if (!key) {
        rc = cli_error(k.name, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    if (keyp) {
        if ((st = pt_atlas_key_load(m, keyp, key, &ksize, &n))) {
            rc = cli_lib_error(&k, st, "--key");
            goto done;
        }
    } else {
        if (bk >= pt_atlas_books(m)) {
            rc = cli_error(k.name, EXIT_USAGE, "--book %d: %s holds %d book%s", bk, model, pt_atlas_books(m),
                           pt_atlas_books(m) == 1 ? "" : "s");
            goto done;
        }
        n = pt_atlas_length(m, bk);
        if (g->key_size) memcpy(key, pt_atlas_key(m, bk), (size_t)g->key_size * sizeof *key);
    }
    if (text) {
        if ((rc = read_book(k.name, "--text", text, &orig))) goto done;
        if (orig.n != n) {
            rc = cli_error(k.name, EXIT_USAGE, "--text %s: %zu symbols, the book in the atlas has %zu", text, orig.n, n);
            goto done;
        }
    }
    dec = malloc(n * sizeof *dec);
    utf = malloc(4 * n);
    if (!dec || !utf) {
        rc = cli_error(k.name, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    double t0 = cli_now();
    if ((st = pt_atlas_decode(m, g->key_size ? key : NULL, n, dec))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    double secs = cli_now() - t0, acc = 0.0, bpc = 0.0, uacc = 0.0, ubits = 0.0;
    size_t nbytes = pt_atlas_utf8_encode(dec, n, utf);
    if (text) {
        pt_atlas_text tt = {orig.sym, orig.n};
        if ((st = pt_atlas_score(m, g->key_size ? key : NULL, &tt, &acc, &bpc))) {
            rc = cli_lib_error(&k, st, "--text");
            goto done;
        }
        unigram(m, orig.sym, orig.n, &uacc, &ubits);
    }
    if (out) {
        bytes_out bo = {utf, nbytes};
        if ((st = pt_io_write_file(out, put_bytes, &bo))) {
            rc = cli_error(k.name, cli_status_code(st), "%s", pt_errmsg());
            goto done;
        }
    }
    cli_report *r = rep_new(json);
    if (r) {
        long long mb = file_bytes(model), kb = keyp ? file_bytes(keyp) : -1;
        rep_str(r, "model", "atlas"), rep_int(r, "symbols", (long long)n), rep_int(r, "bytes", (long long)nbytes);
        rep_num(r, "decode_seconds", secs, 4), rep_int(r, "file_bytes", mb);
        if (keyp) rep_int(r, "key_size", ksize), rep_int(r, "key_file_bytes", kb);
        else rep_int(r, "book", bk);
        rep_text(r, "decoded %zu symbols (%zu bytes) from %s%s%s in %.2f s%s%s\n", n, nbytes, model, keyp ? " with key " : "",
                 keyp ? keyp : "", secs, out ? ", written to " : "", out ? out : "");
        if (text) {
            double resid = (double)n * bpc / 8.0;
            rep_num(r, "accuracy", acc, 6), rep_num(r, "bits_per_symbol", bpc, 6);
            rep_num(r, "unigram_accuracy", uacc, 6), rep_num(r, "unigram_bits", ubits, 6);
            rep_num(r, "residual_bytes", resid, 1);
            rep_text(r, "accuracy %.2f%%, %.4f bits/symbol (unigram baseline: %.2f%%, %.4f bits); residual %.0f bytes "
                        "(N bpc / 8)\n",
                     100.0 * acc, bpc, 100.0 * uacc, ubits, resid);
        }
    }
    rc = rep_end(r);
done:
    pt_atlas_destroy(m);
    book_free(&orig);
    free(key), free(dec), free(utf);
    return rc;
}

/* ---- key ---- */

static const char *KEY_USAGE =
    "usage: phasetower atlas key --model MASTER --text NEWBOOK --out KEY [--key-size K] [--epochs 20]\n"
    "                            [--lr 0.01] [--batch 256] [--seed 1] [--json]\n\n"
    "Learns a new book through its key alone: the master (an atlas trained with --library)\n"
    "stays frozen; the key starts at the mean of the master's keys and Adam moves its first\n"
    "--key-size numbers (default: all of the master's) on the book's cross-entropy. Writes\n"
    "the key file (the learned numbers, the book's length, the master's fingerprint) for\n"
    "'atlas decode --model MASTER --key KEY', and reports accuracy and bits per symbol.";

static int atlas_key(int argc, char **argv)
{
    const char *model = NULL, *text = NULL, *out = NULL;
    pt_atlas_key_config kc = pt_atlas_key_config_default();
    int json = 0, quiet = 0, force = 0;
    opt opts[] = {
        {"model", OPT_STR, &model, "the master atlas (required)", 0, 0, NULL, 0},
        {"text", OPT_STR, &text, "the new book (UTF-8; its symbols must be in the master's alphabet) (required)", 0, 0,
         NULL, 0},
        {"out", OPT_STR, &out, "write the key file here (required)", 0, 0, NULL, 0},
        {"key-size", OPT_INT, &kc.size, "numbers learned, 1..the master's key size (default: all)", 1, 1024,
         "atlas.key.size", 0},
        {"epochs", OPT_INT, &kc.epochs, "passes over the book (default 20)", 1, 100000, "atlas.key.epochs", 0},
        {"lr", OPT_FLOAT, &kc.lr, "Adam step (default 0.01)", -1e30, 1e30, "atlas.key.lr", 0},
        {"batch", OPT_INT, &kc.batch, "symbols per mini-batch (default 256)", 1, 65536, "atlas.key.batch", 0},
        {"seed", OPT_U64, &kc.seed, "shuffling seed (default 1)", 1, 0, NULL, 0},
        OPT_FORCE(&force),
        OPT_JSON(&json),
        {"quiet", OPT_FLAG, &quiet, "no progress on stderr", 0, 0, NULL, 0},
        OPT_END,
    };
    cli_cmd k = {"atlas key", KEY_USAGE, opts, "atlas key", "batch"};
    CLI_PARSE(&k, argc, argv, NULL);
    if (!model || !text || !out) return cli_error(k.name, EXIT_USAGE, "--model, --text and --out are required (see --help)");
    int rc;
    if ((rc = cli_check_out(k.name, "--out", out, force))) return rc;
    pt_set_threads(1);
    pt_atlas *m = NULL;
    if ((rc = load_atlas(&k, model, &m))) return rc;
    const pt_atlas_config *g = pt_atlas_get_config(m);
    book nb = {0};
    float *key = calloc((size_t)g->key_size + 1, sizeof *key);
    pt_status st;
    if (!key) {
        rc = cli_error(k.name, EXIT_RUNTIME, "out of memory");
        goto done;
    }
    if (g->key_size == 0) {
        rc = cli_error(k.name, EXIT_USAGE, "--model %s: an atlas of one book, without keys (train a master with --library)",
                       model);
        goto done;
    }
    if (kc.size > g->key_size) {
        rc = cli_error(k.name, EXIT_USAGE, "--key-size %d: the master's keys have %d numbers", kc.size, g->key_size);
        goto done;
    }
    if ((rc = read_book(k.name, "--text", text, &nb))) goto done;
    pt_atlas_text t = {nb.sym, nb.n};
    epochs_progress pr = {.epochs = 1};
    cli_progress_init(&pr.bar, "atlas key", quiet || json);
    double t0 = cli_now();
    st = pt_atlas_learn_key(m, &t, &kc, key, epochs_cb, &pr);
    double secs = cli_now() - t0;
    cli_progress_end(&pr.bar);
    if (st) {
        char pre[4200];
        snprintf(pre, sizeof pre, "--text %s", text);
        rc = cli_lib_error(&k, st, pre);
        goto done;
    }
    int size = kc.size ? kc.size : g->key_size;
    double acc = 0.0, bpc = 0.0, uacc = 0.0, ubits = 0.0;
    if ((st = pt_atlas_score(m, key, &t, &acc, &bpc)) || (st = pt_atlas_key_save(m, key, size, t.n, out))) {
        rc = cli_lib_error(&k, st, NULL);
        goto done;
    }
    unigram(m, t.sym, t.n, &uacc, &ubits);
    cli_report *r = rep_new(json);
    if (r) {
        rep_str(r, "model", "atlas_key"), rep_int(r, "key_size", size), rep_int(r, "master_key_size", g->key_size);
        rep_int(r, "symbols", (long long)t.n), rep_int(r, "epochs", kc.epochs), rep_num(r, "train_seconds", secs, 3);
        rep_num(r, "accuracy", acc, 6), rep_num(r, "bits_per_symbol", bpc, 6);
        rep_num(r, "unigram_accuracy", uacc, 6), rep_num(r, "unigram_bits", ubits, 6);
        rep_int(r, "key_bytes_f32", (long long)size * 4), rep_int(r, "file_bytes", file_bytes(out));
        rep_text(r, "learned a key of %d numbers for %s (%zu symbols) in %.1f s, master frozen\n", size, text, t.n, secs);
        rep_text(r, "accuracy %.2f%%, %.4f bits/symbol (unigram baseline: %.2f%%, %.4f bits); key file %s (%lld bytes)\n",
                 100.0 * acc, bpc, 100.0 * uacc, ubits, out, file_bytes(out));
    }
    rc = rep_end(r);
done:
    pt_atlas_destroy(m);
    book_free(&nb);
    free(key);
    return rc;
}

/* ---- info ---- */

static const char *INFO_USAGE = "usage: phasetower atlas info MODEL [--json]\n\nDescribes an atlas file.";

int cli_atlas_info(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    opt opts[] = {OPT_JSON(&json), OPT_END};
    cli_cmd k = {"atlas info", INFO_USAGE, opts, "atlas info", NULL};
    CLI_PARSE(&k, argc, argv, &path);
    if (!path) return cli_error(k.name, EXIT_USAGE, "a model file is required (see --help)");
    pt_atlas *m = NULL;
    int rc = load_atlas(&k, path, &m);
    if (rc) return rc;
    const pt_atlas_config *g = pt_atlas_get_config(m);
    size_t C = 0, np = pt_atlas_param_count(m);
    pt_atlas_alphabet(m, &C);
    cli_report *r = rep_new(json);
    if (r) {
        rep_str(r, "model", "atlas"), rep_int(r, "books", pt_atlas_books(m)), rep_int(r, "symbols", (long long)C);
        rep_int(r, "dim", g->dim), rep_int(r, "iters", g->iters), rep_float(r, "rho", g->rho);
        rep_int(r, "octaves", g->octaves), rep_int(r, "levels", g->levels), rep_int(r, "table_log2", g->table_log2);
        rep_int(r, "features", g->features), rep_int(r, "base_res", g->base_res), rep_int(r, "max_res", g->max_res);
        rep_int(r, "key_size", g->key_size), rep_int(r, "params", (long long)np), rep_int(r, "file_bytes", file_bytes(path));
        rep_text(r, "%s: atlas of %d book%s (%zu symbols in the alphabet), D %d, %d iterations (rho %g), %d octaves, "
                    "%d levels (resolution %d..%d, up to 2^%d entries of %d), key %d; %zu parameters, %lld bytes\n",
                 path, pt_atlas_books(m), pt_atlas_books(m) == 1 ? "" : "s", C, g->dim, g->iters, (double)g->rho,
                 g->octaves, g->levels, pt_atlas_level_res(m, 0), g->max_res, g->table_log2, g->features, g->key_size, np,
                 file_bytes(path));
        for (int b = 0; b < pt_atlas_books(m); b++) rep_text(r, "  book %d: %zu symbols\n", b, pt_atlas_length(m, b));
    }
    rc = rep_end(r);
    pt_atlas_destroy(m);
    return rc;
}

int cmd_atlas(int argc, char **argv)
{
    const char *sub = argc > 2 ? argv[2] : NULL;
    if (!sub) return cli_error("atlas", EXIT_USAGE, "a subcommand is needed: train, decode, key or info (see --help)");
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        printf("%s\n", USAGE);
        return EXIT_OK;
    }
    /* the subcommand's options start at argv[2] of the shifted vector, as cli_parse expects */
    if (!strcmp(sub, "train")) return atlas_train(argc - 1, argv + 1);
    if (!strcmp(sub, "decode")) return atlas_decode(argc - 1, argv + 1);
    if (!strcmp(sub, "key")) return atlas_key(argc - 1, argv + 1);
    if (!strcmp(sub, "info")) return cli_atlas_info(argc - 1, argv + 1);
    return cli_error("atlas", EXIT_USAGE, "unknown subcommand '%s': expected train, decode, key or info", sub);
}
