/* checkpoint.h — model directories in the Hugging Face layout:
 *   DIR/config.json        (HF BertConfig fields; MosaicBERT's extras)
 *   DIR/model.safetensors  (HF state-dict names; the tied decoder matrix omitted)
 *   DIR/vocab.txt          (when known)
 * The architecture is told by tensor names (MosaicBERT has attention.self.Wqkv),
 * sizes by tensor shapes (they win over config.json on conflict, as the spec asks). */
#ifndef BERTC_CHECKPOINT_H
#define BERTC_CHECKPOINT_H

#include "model.h"

typedef struct {
    int need_mlm_head;   /* fail if the checkpoint has no MLM head */
    int drop_mlm_head;   /* build no MLM head even when the checkpoint has one (finetuning) */
    int fresh_classifier; /* initialise classifier.* fresh even when present (another task's head) */
    int num_labels;      /* > 0: add a classification head (loaded if present, else fresh) */
    int max_tokens, max_seqs;
    uint64_t seed;       /* init of anything the checkpoint lacks */
    int inference;       /* forward only (no gradient memory) */
    int quiet;           /* no notes on stderr about ignored/fresh tensors */
    int pooling;         /* the classifier's input: 0 as config.json says, or CKPT_POOL_CLS / _MEAN */
} checkpoint_opts;

enum { CKPT_POOL_CLS = 1, CKPT_POOL_MEAN = 2 };

/* The architecture of DIR, from its tensor names as checkpoint_load tells it; -1 + err. */
int checkpoint_arch(const char *dir, model_arch *arch);
/* Loads DIR into a new model on backend o. NULL + err naming the file and tensor. */
model *checkpoint_load(const char *dir, const ops *o, const checkpoint_opts *opts);
/* Reads DIR/model.safetensors into an existing model of the same shapes (resume):
 * every parameter must be there. */
int checkpoint_read_params(model *m, const char *dir);
/* Writes config.json + model.safetensors into DIR (created), atomically per file;
 * copies vocab_path to DIR/vocab.txt when given. */
int checkpoint_save(model *m, const char *dir, const char *vocab_path);
/* Reads config.json of DIR into c (fields absent keep c's values). */
int config_read_json(const char *path, model_config *c);

#endif
