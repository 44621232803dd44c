/* checkpoint.c — see checkpoint.h. */
#include "checkpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/err.h"
#include "../io/file.h"
#include "../io/json.h"
#include "../io/safetensors.h"
#include "m2.h"

static int get_int(const json_value *root, const char *key, int *out, const char *path) {
    const json_value *v = json_get(root, key);
    if (!v || json_is_null(v)) return 0;
    int64_t x;
    if (json_int(v, &x) != 0 || x < 0 || x > 1 << 30)
        return err_set("%s: field \"%s\" must be a non-negative integer", path, key);
    *out = (int)x;
    return 0;
}

static int get_num(const json_value *root, const char *key, double *out, const char *path) {
    const json_value *v = json_get(root, key);
    if (!v) return 0;
    if (json_is_null(v)) { *out = -1.0; return 0; } /* classifier_dropout: null = inherit */
    if (json_number(v, out) != 0) return err_set("%s: field \"%s\" must be a number", path, key);
    return 0;
}

int config_read_json(const char *path, model_config *c) {
    json_value *root = json_parse_file(path);
    if (!root) return -1;
    int rc = 0;
    if (json_typeof(root) != JSON_OBJECT) rc = err_set("%s: not a JSON object", path);
    if (!rc) rc = get_int(root, "vocab_size", &c->vocab_size, path);
    if (!rc) rc = get_int(root, "hidden_size", &c->hidden, path);
    if (!rc) rc = get_int(root, "num_hidden_layers", &c->layers, path);
    if (!rc) rc = get_int(root, "num_attention_heads", &c->heads, path);
    if (!rc) rc = get_int(root, "intermediate_size", &c->intermediate, path);
    if (!rc) rc = get_int(root, "max_position_embeddings", &c->max_position, path);
    if (!rc) rc = get_int(root, "type_vocab_size", &c->type_vocab, path);
    if (!rc) rc = get_int(root, "pad_token_id", &c->pad_token_id, path);
    if (!rc) rc = get_int(root, "alibi_starting_size", &c->alibi_starting_size, path);
    if (!rc) rc = get_num(root, "layer_norm_eps", &c->layer_norm_eps, path);
    if (!rc) rc = get_num(root, "hidden_dropout_prob", &c->hidden_dropout, path);
    if (!rc) rc = get_num(root, "attention_probs_dropout_prob", &c->attn_dropout, path);
    if (!rc) rc = get_num(root, "classifier_dropout", &c->classifier_dropout, path);
    if (!rc) rc = get_num(root, "initializer_range", &c->initializer_range, path);
    /* M2 hook: the M2-BERT config fields (m2bert.md §5.1); tensor shapes win where they tell */
    if (!rc) rc = get_int(root, "long_conv_l_max", &c->m2_l_max, path);
    if (!rc) rc = get_int(root, "hyena_filter_order", &c->m2_filter_order, path);
    if (!rc) rc = get_int(root, "hyena_emb_dim", &c->m2_emb_dim, path);
    if (!rc) rc = get_int(root, "monarch_mlp_nblocks", &c->m2_nblocks, path);
    if (!rc) rc = get_num(root, "hyena_w", &c->m2_w, path);
    if (!rc) rc = get_num(root, "hyena_w_mod", &c->m2_w_mod, path);
    const json_value *ta = json_get(root, "hyena_training_additions");
    if (!rc && ta && !json_is_null(ta) && json_bool(ta, &c->m2_pre_ln) != 0)
        rc = err_set("%s: field \"hyena_training_additions\" must be true or false", path);
    const json_value *pa = json_get(root, "pool_all");
    if (!rc && pa && !json_is_null(pa) && json_bool(pa, &c->pool_mean) != 0)
        rc = err_set("%s: field \"pool_all\" must be true or false", path);
    const json_value *act = json_get(root, "hidden_act");
    if (!rc && act) {
        size_t n;
        const char *s = json_str(act, &n);
        if (!s || strcmp(s, "gelu") != 0)
            rc = err_set("%s: hidden_act must be \"gelu\" (exact erf GELU); other activations are not supported", path);
    }
    const json_value *id2label = json_get(root, "id2label");
    if (!rc && id2label && json_typeof(id2label) == JSON_OBJECT) c->num_labels = (int)json_len(id2label);
    if (!rc) rc = get_int(root, "num_labels", &c->num_labels, path);
    json_free(root);
    return rc;
}

/* Reads one tensor into host floats, checking its shape. */
static int load_tensor(const st_file *f, const st_tensor *t, const param_desc *p, float *dst, const char *path) {
    int ok = t->ndim == p->ndim;
    for (int d = 0; ok && d < p->ndim; d++) ok = t->shape[d] == p->shape[d];
    if (!ok) { /* M2 hook: any rank (M2 has rank-3 tensors) */
        char have[96] = "", want[96] = "";
        for (int d = 0; d < t->ndim && d < 4; d++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        for (int d = 0; d < p->ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "", (long long)p->shape[d]);
        return err_set("%s: tensor %s has shape [%s] but the config needs [%s]", path, p->name, have, want);
    }
    (void)f;
    if (st_read_f32(t, dst, p->numel) != 0) return err_prefix("%s: tensor %s", path, p->name);
    return 0;
}

/* Old checkpoints spell LayerNorm parameters gamma/beta. */
static const st_tensor *find_param(const st_file *f, const char *name) {
    const st_tensor *t = st_find(f, name);
    if (t) return t;
    size_t n = strlen(name);
    char alt[128];
    /* M2 hook: one Sin module (one freq) is shared by the six sine layers of a Hyena filter;
     * a file may keep any of its aliases (m2bert.md §1.5, §2.6) */
    const char *fq = strstr(name, "implicit_filter.1.freq");
    if (fq && !strcmp(fq, "implicit_filter.1.freq")) {
        static const char *const alias[] = {"implicit_filter.3.freq", "implicit_filter.5.freq",
                                            "implicit_filter_rev.1.freq", "implicit_filter_rev.3.freq",
                                            "implicit_filter_rev.5.freq"};
        for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++) {
            snprintf(alt, sizeof alt, "%.*s%s", (int)(fq - name), name, alias[i]);
            if ((t = st_find(f, alt))) return t;
        }
        return NULL;
    }
    if (n > 7 && !strcmp(name + n - 7, ".weight") && strstr(name, "LayerNorm")) {
        snprintf(alt, sizeof alt, "%.*s.gamma", (int)(n - 7), name);
        return st_find(f, alt);
    }
    if (n > 5 && !strcmp(name + n - 5, ".bias") && strstr(name, "LayerNorm")) {
        snprintf(alt, sizeof alt, "%.*s.beta", (int)(n - 5), name);
        return st_find(f, alt);
    }
    return NULL;
}

/* Tensors a checkpoint may carry that bertc has no use for (buffers, tied copies, NSP head). */
static int ignorable(const char *name) {
    static const char *const known[] = {"bert.embeddings.position_ids", "bert.embeddings.token_type_ids",
                                        "cls.predictions.decoder.weight", "cls.predictions.decoder.bias",
                                        "cls.seq_relationship.weight", "cls.seq_relationship.bias"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(name, known[i])) return 1;
    /* M2 hook: FlashFFTConv tables, the Hyena buffers (rebuilt exactly as linspace makes them), freq aliases */
    if (strstr(name, "flashfft") || strstr(name, ".pos_emb.t") || strstr(name, ".modulation.deltas")) return 1;
    if (strstr(name, "implicit_filter") && strstr(name, ".freq")) return 1;
    return !strncmp(name, "bert.pooler.", 12);
}

/* Copies every table tensor found in f into m (missing classification-head
 * tensors keep their fresh init when allow_fresh_head; anything else missing is an
 * error). Notes on stderr about unused tensors unless quiet. */
static int read_params(model *m, const st_file *f, const char *wpath, int quiet, int allow_fresh_head,
                       int fresh_classifier) {
    const ops *o = model_ops(m);
    const param_table *pt = model_params(m);
    float *host = xmalloc(pt->total * sizeof *host);
    o->download(host, model_param_data(m), pt->total * sizeof *host); /* fresh init for what is missing */
    int rc = 0, fresh = 0;
    char *used = xcalloc(st_count(f), 1);
    for (int i = 0; i < pt->n && rc == 0; i++) {
        const param_desc *p = &pt->p[i];
        const st_tensor *t = fresh_classifier && !strncmp(p->name, "classifier.", 11) ? NULL : find_param(f, p->name);
        if (!t && !strcmp(p->name, "cls.predictions.bias")) t = st_find(f, "cls.predictions.decoder.bias");
        if (!t) {
            int head = !strncmp(p->name, "bert.pooler.", 12) || !strncmp(p->name, "classifier.", 11);
            if (!head || !allow_fresh_head) rc = err_set("%s: tensor %s is missing", wpath, p->name);
            else fresh++;
            continue;
        }
        used[t - st_tensor_at(f, 0)] = 1;
        rc = load_tensor(f, t, p, host + p->offset, wpath);
    }
    if (rc == 0 && !quiet) {
        size_t unknown = 0;
        for (size_t i = 0; i < st_count(f); i++)
            if (!used[i] && !ignorable(st_tensor_at(f, i)->name)) {
                if (unknown++ < 5) fprintf(stderr, "note: %s: tensor %s is not used\n", wpath, st_tensor_at(f, i)->name);
            }
        if (unknown > 5) fprintf(stderr, "note: %s: %zu tensors not used in all\n", wpath, unknown);
        if (fresh) fprintf(stderr, "note: %s: classification head initialised fresh (%d tensors)\n", wpath, fresh);
    }
    free(used);
    if (rc == 0 && model_m2(m)) { /* M2 hook: the Hyena buffers t, deltas from the file when present */
        const st_tensor *bt = st_find(f, "bert.encoder.layer.0.attention.filter_fn.pos_emb.t");
        const st_tensor *bd = st_find(f, "bert.encoder.layer.0.attention.filter_fn.modulation.deltas");
        if (bt && bd) {
            float *tv = xmalloc(((size_t)bt->numel + 1) * sizeof *tv); /* (numel,) host copies */
            float *dv = xmalloc(((size_t)bd->numel + 1) * sizeof *dv);
            if (st_read_f32(bt, tv, (size_t)bt->numel) || st_read_f32(bd, dv, (size_t)bd->numel))
                rc = err_prefix("%s: M2 buffers", wpath);
            else if (m2_set_buffers(model_m2(m), tv, (int)bt->numel, dv, (int)bd->numel) != 0)
                rc = err_prefix("%s", wpath);
            free(tv);
            free(dv);
        }
    }
    if (rc == 0) {
        o->upload(model_param_data(m), host, pt->total * sizeof *host);
        model_params_changed(m);
    }
    free(host);
    return rc;
}

int checkpoint_read_params(model *m, const char *dir) {
    char wpath[4096];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    st_file *f = st_open(wpath);
    if (!f) return -1;
    int rc = read_params(m, f, wpath, 1, 0, 0);
    st_close(f);
    return rc;
}

/* The architecture is told by tensor names: MosaicBERT's fused Wqkv, M2's in_linear. */
static model_arch arch_of(const st_file *f) {
    int mosaic = 0, m2 = 0;
    for (size_t i = 0; i < st_count(f); i++) {
        if (strstr(st_tensor_at(f, i)->name, "attention.self.Wqkv.weight")) mosaic = 1;
        if (strstr(st_tensor_at(f, i)->name, "attention.in_linear.weight")) m2 = 1; /* M2 hook */
    }
    return m2 ? ARCH_M2 : mosaic ? ARCH_MOSAIC : ARCH_BERT;
}

int checkpoint_arch(const char *dir, model_arch *arch) {
    char wpath[4096];
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    st_file *f = st_open(wpath);
    if (!f) return -1;
    *arch = arch_of(f);
    st_close(f);
    return 0;
}

model *checkpoint_load(const char *dir, const ops *o, const checkpoint_opts *opts) {
    char cpath[4096], wpath[4096];
    snprintf(cpath, sizeof cpath, "%s/config.json", dir);
    snprintf(wpath, sizeof wpath, "%s/model.safetensors", dir);
    st_file *f = st_open(wpath);
    if (!f) return NULL;
    model_config c;
    model_arch arch = arch_of(f);
    int m2 = arch == ARCH_M2;
    config_default(&c, arch);
    c.num_labels = 0;
    if (config_read_json(cpath, &c) != 0) { st_close(f); return NULL; }
    /* shapes win over config.json */
    const st_tensor *we = st_find(f, "bert.embeddings.word_embeddings.weight");
    if (!we || we->ndim != 2) {
        err_set("%s: no tensor bert.embeddings.word_embeddings.weight (is this a BERT checkpoint?)", wpath);
        st_close(f);
        return NULL;
    }
    c.vocab_size = (int)we->shape[0];
    c.hidden = (int)we->shape[1];
    const st_tensor *pe = st_find(f, "bert.embeddings.position_embeddings.weight");
    if (pe && pe->ndim == 2) c.max_position = (int)pe->shape[0];
    const st_tensor *te = st_find(f, "bert.embeddings.token_type_embeddings.weight");
    if (te && te->ndim == 2) c.type_vocab = (int)te->shape[0];
    int layers = 0;
    char name[128];
    for (;; layers++) {
        snprintf(name, sizeof name, m2 ? "bert.encoder.layer.%d.attention.out_linear.weight"
                                        : "bert.encoder.layer.%d.attention.output.dense.weight", layers);
        if (!st_find(f, name)) break;
    }
    if (layers == 0) {
        err_set("%s: no encoder layers found", wpath);
        st_close(f);
        return NULL;
    }
    c.layers = layers;
    if (m2) { /* M2 hook: sizes from layer 0's shapes (m2bert.md §2.1: "take sizes from tensor shapes") */
        const st_tensor *z = st_find(f, "bert.encoder.layer.0.attention.filter_fn.pos_emb.z");
        const st_tensor *w0 = st_find(f, "bert.encoder.layer.0.attention.filter_fn.implicit_filter.0.weight");
        const st_tensor *gl = st_find(f, "bert.encoder.layer.0.mlp.gated_layers.weight");
        if (!z || z->ndim != 3 || !w0 || w0->ndim != 2 || !gl || gl->ndim != 3) {
            err_set("%s: M2 layer 0 lacks filter_fn.pos_emb.z [1, l_max, e], implicit_filter.0.weight [order, e] "
                    "or mlp.gated_layers.weight [nb, 2I/nb, d/nb]", wpath);
            st_close(f);
            return NULL;
        }
        c.m2_l_max = (int)z->shape[1];
        c.m2_emb_dim = (int)z->shape[2];
        c.m2_filter_order = (int)w0->shape[0];
        c.m2_nblocks = (int)gl->shape[0];
        c.intermediate = (int)(gl->shape[0] * gl->shape[1] / 2);
        c.m2_pre_ln = st_find(f, "bert.encoder.layer.0.attention.layernorm.weight") != NULL;
    }
    const st_tensor *cw = st_find(f, "classifier.weight");
    if (opts->num_labels > 0) c.num_labels = opts->num_labels;
    else if (cw && cw->ndim == 2) c.num_labels = (int)cw->shape[0];
    if (opts->pooling) c.pool_mean = opts->pooling == CKPT_POOL_MEAN;
    int mlm = st_find(f, "cls.predictions.transform.dense.weight") != NULL;
    if (opts->need_mlm_head && !mlm) {
        err_set("%s: the checkpoint has no MLM head (cls.predictions.*): it cannot predict masked tokens", wpath);
        st_close(f);
        return NULL;
    }
    model_opts mo = {.mlm_head = mlm && !opts->drop_mlm_head, .max_tokens = opts->max_tokens, .max_seqs = opts->max_seqs,
                     .inference = opts->inference, .seed = opts->seed};
    model *m = model_create(&c, o, &mo);
    if (!m) { err_prefix("%s", cpath); st_close(f); return NULL; }
    int rc = read_params(m, f, wpath, opts->quiet, 1, opts->fresh_classifier);
    st_close(f);
    if (rc != 0) { model_free(m); return NULL; }
    return m;
}

static void write_config_json(json_w *w, const model_config *c, int mlm) {
    /* keys sorted, as transformers writes them (json.dumps(sort_keys=True)) */
    json_w_begin_object(w);
    if (c->arch == ARCH_MOSAIC) { json_w_key(w, "alibi_starting_size"); json_w_int(w, c->alibi_starting_size); }
    json_w_key(w, "architectures");
    json_w_begin_array(w);
    json_w_string(w, c->num_labels > 0 && !mlm ? "BertForSequenceClassification" : "BertForMaskedLM");
    json_w_end_array(w);
    json_w_key(w, "attention_probs_dropout_prob"); json_w_double(w, c->attn_dropout);
    json_w_key(w, "bertc_arch"); json_w_string(w, config_arch_name(c->arch));
    json_w_key(w, "classifier_dropout");
    if (c->classifier_dropout < 0) json_w_null(w); else json_w_double(w, c->classifier_dropout);
    json_w_key(w, "hidden_act"); json_w_string(w, "gelu");
    json_w_key(w, "hidden_dropout_prob"); json_w_double(w, c->hidden_dropout);
    json_w_key(w, "hidden_size"); json_w_int(w, c->hidden);
    if (c->arch == ARCH_M2) { /* M2 hook */
        json_w_key(w, "hyena_emb_dim"); json_w_int(w, c->m2_emb_dim);
        json_w_key(w, "hyena_filter_order"); json_w_int(w, c->m2_filter_order);
        json_w_key(w, "hyena_training_additions"); json_w_bool(w, c->m2_pre_ln);
        json_w_key(w, "hyena_w"); json_w_double(w, c->m2_w);
        json_w_key(w, "hyena_w_mod"); json_w_double(w, c->m2_w_mod);
    }
    if (c->num_labels > 0) {
        json_w_key(w, "id2label");
        json_w_begin_object(w);
        for (int i = 0; i < c->num_labels; i++) {
            char k[32], v[40];
            snprintf(k, sizeof k, "%d", i);
            snprintf(v, sizeof v, "LABEL_%d", i);
            json_w_key(w, k);
            json_w_string(w, v);
        }
        json_w_end_object(w);
    }
    json_w_key(w, "initializer_range"); json_w_double(w, c->initializer_range);
    json_w_key(w, "intermediate_size"); json_w_int(w, c->intermediate);
    if (c->num_labels > 0) {
        json_w_key(w, "label2id");
        json_w_begin_object(w);
        for (int i = 0; i < c->num_labels; i++) {
            char k[40];
            snprintf(k, sizeof k, "LABEL_%d", i);
            json_w_key(w, k);
            json_w_int(w, i);
        }
        json_w_end_object(w);
    }
    json_w_key(w, "layer_norm_eps"); json_w_double(w, c->layer_norm_eps);
    if (c->arch == ARCH_M2) { json_w_key(w, "long_conv_l_max"); json_w_int(w, c->m2_l_max); }
    json_w_key(w, "max_position_embeddings"); json_w_int(w, c->max_position);
    json_w_key(w, "model_type"); json_w_string(w, "bert");
    if (c->arch == ARCH_M2) { /* M2 hook: the m2 repo's switches for this architecture */
        json_w_key(w, "monarch_mixer_sequence_mixing"); json_w_bool(w, 1);
        json_w_key(w, "monarch_mlp_nblocks"); json_w_int(w, c->m2_nblocks);
    }
    json_w_key(w, "num_attention_heads"); json_w_int(w, c->heads);
    json_w_key(w, "num_hidden_layers"); json_w_int(w, c->layers);
    json_w_key(w, "pad_token_id"); json_w_int(w, c->pad_token_id);
    /* M2's field, always there for M2; for BERT/MosaicBERT only when set (transformers
     * ignores it: its classifier pools [CLS], so such a model is bertc's alone) */
    if (c->arch == ARCH_M2 || c->pool_mean) { json_w_key(w, "pool_all"); json_w_bool(w, c->pool_mean); }
    json_w_key(w, "tie_word_embeddings"); json_w_bool(w, 1);
    json_w_key(w, "type_vocab_size"); json_w_int(w, c->type_vocab);
    json_w_key(w, "vocab_size"); json_w_int(w, c->vocab_size);
    json_w_end_object(w);
}

static int copy_file(const char *src, const char *dst) {
    size_t n;
    char *data = file_read_all(src, &n);
    if (!data) return -1;
    afile f;
    int rc = afile_open(&f, dst);
    if (rc == 0 && afile_write(&f, data, n) != 0) { afile_abort(&f); rc = -1; }
    else if (rc == 0) rc = afile_commit(&f);
    free(data);
    return rc;
}

int checkpoint_save(model *m, const char *dir, const char *vocab_path) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return err_set("%s: cannot create directory: %s", dir, strerror(errno));
    const model_config *c = model_cfg(m);
    const param_table *pt = model_params(m);
    int mlm = params_find(pt, "cls.predictions.transform.dense.weight") >= 0;
    char path[4096];
    /* weights first: a directory with a config but no weights is worse than the reverse */
    float *host = xmalloc(pt->total * sizeof *host);
    model_ops(m)->download(host, model_param_data(m), pt->total * sizeof *host);
    st_entry *e = xcalloc((size_t)pt->n, sizeof *e);
    for (int i = 0; i < pt->n; i++)
        e[i] = (st_entry){.name = pt->p[i].name, .dtype = ST_F32, .ndim = pt->p[i].ndim, .shape = pt->p[i].shape,
                          .data = host + pt->p[i].offset};
    st_meta meta = {.key = "format", .value = "pt"};
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int rc = st_write(path, e, (size_t)pt->n, &meta, 1);
    free(e);
    free(host);
    if (rc != 0) return -1;
    json_w w;
    json_w_init(&w, 2, 0);
    write_config_json(&w, c, mlm);
    size_t len;
    const char *text = json_w_finish(&w, &len);
    snprintf(path, sizeof path, "%s/config.json", dir);
    afile f;
    rc = text ? afile_open(&f, path) : -1;
    if (rc == 0 && (afile_write(&f, text, len) || afile_write(&f, "\n", 1))) { afile_abort(&f); rc = -1; }
    else if (rc == 0) rc = afile_commit(&f);
    json_w_free(&w);
    if (rc == 0 && vocab_path) {
        snprintf(path, sizeof path, "%s/vocab.txt", dir);
        rc = copy_file(vocab_path, path);
    }
    return rc;
}
