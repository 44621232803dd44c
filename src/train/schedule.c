/* schedule.c — learning-rate multipliers (see schedule.h). */
#include "schedule.h"

#include <math.h>
#include <string.h>

#include "../core/err.h"

void schedule_default(schedule *s, int64_t total_steps) {
    memset(s, 0, sizeof *s);
    s->kind = SCHED_LINEAR;
    s->total = total_steps;
    s->warmup = (int64_t)llround(0.06 * (double)total_steps); /* t_warmup: 0.06dur */
    s->alpha_f = 0.02;
    s->decay_frac = 0.1;
    s->decay = SCHED_DECAY_LINEAR;
}

int schedule_check(const schedule *s) {
    if (s->kind != SCHED_CONSTANT && s->kind != SCHED_LINEAR && s->kind != SCHED_WSD)
        return err_set("schedule: unknown kind %d", s->kind);
    if (s->warmup < 0) return err_set("schedule: warmup %lld must be >= 0", (long long)s->warmup);
    if (s->kind == SCHED_CONSTANT) return 0;
    if (s->total <= 0) return err_set("schedule: total %lld steps must be > 0", (long long)s->total);
    if (s->warmup > s->total)
        return err_set("schedule: warmup %lld is longer than total %lld steps", (long long)s->warmup,
                       (long long)s->total);
    if (!(s->alpha_f >= 0.0 && s->alpha_f <= 1.0)) return err_set("schedule: alpha_f %g must be in [0, 1]", s->alpha_f);
    if (s->kind == SCHED_WSD) {
        if (!(s->decay_frac > 0.0 && s->decay_frac <= 1.0))
            return err_set("schedule: decay_frac %g must be in (0, 1]", s->decay_frac);
        if (s->decay != SCHED_DECAY_LINEAR && s->decay != SCHED_DECAY_SQRT)
            return err_set("schedule: unknown decay shape %d", s->decay);
    }
    return 0;
}

double schedule_alpha(const schedule *s, int64_t step) {
    if (step < 0) step = 0;
    if (step < s->warmup) return (double)step / (double)s->warmup;
    switch (s->kind) {
    case SCHED_CONSTANT: return 1.0;
    case SCHED_LINEAR: {
        /* Composer LinearWithWarmupScheduler: alpha_i = 1 → alpha_f over [W, T]. */
        if (s->total <= s->warmup) return s->alpha_f;
        double frac = (double)(step - s->warmup) / (double)(s->total - s->warmup);
        if (frac > 1.0) frac = 1.0;
        return 1.0 + (s->alpha_f - 1.0) * frac;
    }
    case SCHED_WSD: {
        int64_t n_decay = (int64_t)llround(s->decay_frac * (double)s->total);
        if (n_decay < 1) n_decay = 1;
        int64_t start = s->total - n_decay;
        if (start < s->warmup) start = s->warmup; /* decay never eats into warmup */
        if (step < start) return 1.0;
        if (s->total <= start) return s->alpha_f;
        double x = (double)(step - start) / (double)(s->total - start);
        if (x > 1.0) x = 1.0;
        double shape = s->decay == SCHED_DECAY_SQRT ? 1.0 - sqrt(x) : 1.0 - x; /* 1 → 0 */
        return s->alpha_f + (1.0 - s->alpha_f) * shape;
    }
    }
    return 1.0;
}

int schedule_kind_parse(const char *str, sched_kind *out) {
    if (strcmp(str, "constant") == 0) *out = SCHED_CONSTANT;
    else if (strcmp(str, "linear") == 0) *out = SCHED_LINEAR;
    else if (strcmp(str, "wsd") == 0) *out = SCHED_WSD;
    else return err_set("unknown schedule \"%s\" (expected constant, linear or wsd)", str);
    return 0;
}

const char *schedule_kind_name(sched_kind k) {
    return k == SCHED_CONSTANT ? "constant" : k == SCHED_WSD ? "wsd" : "linear";
}
