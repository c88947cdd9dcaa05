/* libFuzzer target for the string parsers: the layer spec (pt_tower_spec_parse,
 * and its format parsed again must give the same blocks), the corruption spec
 * and the enum parsers of the tower, the memory and the phasor network (a
 * parsed name's name is the input), the field's enum and gradient parsers,
 * and the atlas's UTF-8 text reader (on the raw bytes). Each input, cut at its first NUL, goes to
 * every parser. A refusal must say why; a crash, a sanitizer report, a leak or
 * a broken invariant (abort) is a bug. Built by CMake with -DPT_FUZZ=ON and
 * CC=clang, run by `make fuzz` (and for 25 s by `make test`) with the specs
 * in tests/fuzz/seeds-spec (written by tests/fuzz/make_seeds.py) and
 * spec.dict. A crash leaves build-fuzz/artifacts/fuzz_spec-crash-<sha1>:
 * once fixed, add it as a case to tests/test_tower.c (layers and enums) or
 * tests/test_corrupt.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "phasetower/pt.h"
#include "fuzz_file.h"

/* A message quotes the input and is cut at 511 bytes: look for what it must
 * name only when the input leaves it room. */
#define ROOM 256

static void check_layers(const char *s)
{
    pt_tower_config cfg = pt_tower_config_default(), again = pt_tower_config_default();
    pt_status st = pt_tower_spec_parse(s, &cfg);
    CHECK(st == PT_OK || st == PT_EINVAL);
    if (st != PT_OK) {
        CHECK(strlen(s) > ROOM || strstr(pt_errmsg(), "tower.layers") != NULL);
        return;
    }
    CHECK(cfg.n_blocks >= 1 && cfg.n_blocks <= PT_TOWER_MAXBLOCKS);
    for (int b = 0; b < cfg.n_blocks; b++) CHECK(cfg.K[b] >= 1 && cfg.frac[b] > 0.0f && cfg.frac[b] <= 1.0f);
    /* what parses is a valid tower (the other fields are the defaults) */
    CHECK(pt_tower_config_check(&cfg) == PT_OK);

    /* Lossless: the format parses back to the same blocks, bit for bit, so a
     * saved tower reloads with the same active counts. */
    char buf[1024];
    pt_tower_spec_format(&cfg, buf, sizeof buf);
    CHECK(strlen(buf) < sizeof buf - 1);
    CHECK(pt_tower_spec_parse(buf, &again) == PT_OK);
    CHECK(again.n_blocks == cfg.n_blocks);
    for (int b = 0; b < cfg.n_blocks; b++)
        CHECK(again.K[b] == cfg.K[b] && memcmp(&again.frac[b], &cfg.frac[b], sizeof cfg.frac[b]) == 0);
}

static void check_corrupt(const char *s)
{
    pt_corrupt c;
    pt_status st = pt_corrupt_parse(s, &c);
    CHECK(st == PT_OK || st == PT_EINVAL);
    if (st != PT_OK) {
        CHECK(strlen(s) > ROOM || strstr(pt_errmsg(), "corruption") != NULL);
        return;
    }
    /* the ranges the header promises, for the floats the spec became */
    switch (c.kind) {
    case PT_CORRUPT_ROTATE: CHECK(c.a >= 0.0f && c.a <= c.b && c.b <= 180.0f); break;
    case PT_CORRUPT_TURN: CHECK(c.a >= -180.0f && c.a <= 180.0f && c.b == c.a); break;
    case PT_CORRUPT_NOISE: CHECK(c.a > 0.0f && c.a <= 10.0f && c.b == 0.0f); break;
    default: CHECK(c.kind == PT_CORRUPT_ROTATE || c.kind == PT_CORRUPT_TURN || c.kind == PT_CORRUPT_NOISE);
    }
}

/* One enum parser: what parses is a name, the name of what it parsed. */
#define CHECK_ENUM(type, parse, name, param)                                                       \
    do {                                                                                           \
        type v_;                                                                                   \
        pt_status st_ = parse(s, &v_);                                                             \
        CHECK(st_ == PT_OK || st_ == PT_EINVAL);                                                   \
        if (st_ == PT_OK)                                                                          \
            CHECK(strcmp(name(v_), s) == 0);                                                       \
        else                                                                                       \
            CHECK(strlen(s) > ROOM || strncmp(pt_errmsg(), param " '", strlen(param " '")) == 0); \
    } while (0)

static void check_enums(const char *s)
{
    CHECK_ENUM(pt_rule, pt_tower_rule_parse, pt_tower_rule_name, "tower.rule");
    CHECK_ENUM(pt_readout, pt_tower_readout_parse, pt_tower_readout_name, "tower.readout");
    CHECK_ENUM(pt_init, pt_tower_init_parse, pt_tower_init_name, "tower.init");
    CHECK_ENUM(pt_select, pt_tower_select_parse, pt_tower_select_name, "tower.select");
    CHECK_ENUM(pt_vote, pt_memory_vote_parse, pt_memory_vote_name, "memory.vote");
    CHECK_ENUM(pt_memory_code, pt_memory_code_parse, pt_memory_code_name, "memory.code");
    CHECK_ENUM(pt_memory_policy, pt_memory_policy_parse, pt_memory_policy_name, "memory.policy");
    CHECK_ENUM(pt_phasor_act, pt_phasor_act_parse, pt_phasor_act_name, "phasor.act");
}

/* The atlas's text reader on the raw bytes (NULs included): strict UTF-8
 * decoding either refuses naming the byte, or gives valid code points that
 * encode back to exactly the input. And the field's enum parsers. */
static void check_text(const uint8_t *data, size_t size, const char *s)
{
    uint32_t *cp = malloc((size ? size : 1) * sizeof *cp);
    uint8_t *back = malloc(4 * (size ? size : 1));
    CHECK(cp && back);
    size_t n = 0;
    pt_status st = pt_atlas_utf8_decode(data, size, cp, &n);
    CHECK(st == PT_OK || st == PT_EINVAL);
    if (st == PT_OK) {
        CHECK(n <= size);
        for (size_t i = 0; i < n; i++) CHECK(cp[i] <= 0x10FFFF && !(cp[i] >= 0xD800 && cp[i] <= 0xDFFF));
        CHECK(pt_atlas_utf8_encode(cp, n, back) == size && (size == 0 || !memcmp(back, data, size)));
    } else
        CHECK(strstr(pt_errmsg(), "byte") != NULL);
    free(cp), free(back);
    pt_field_act a;
    pt_field_solver v;
    pt_field_readout_fit r;
    pt_field_config c = pt_field_config_default();
    if (pt_field_act_parse(s, &a) == PT_OK) CHECK(!strcmp(pt_field_act_name(a), s));
    if (pt_field_solver_parse(s, &v) == PT_OK) CHECK(!strcmp(pt_field_solver_name(v), s));
    if (pt_field_readout_parse(s, &r) == PT_OK) CHECK(!strcmp(pt_field_readout_name(r), s));
    if (pt_field_grad_parse(s, &c) == PT_OK) CHECK(pt_field_config_check(&c) == PT_OK);
    else CHECK(strstr(pt_errmsg(), "field.grad") != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    CHECK(s != NULL);
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    check_layers(s);
    check_corrupt(s);
    check_enums(s);
    check_text(data, size, s);
    free(s);
    return 0;
}
