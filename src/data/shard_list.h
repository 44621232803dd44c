/* shard_list.h — lists of shard files from a user's specification. */
#ifndef BERTC_SHARD_LIST_H
#define BERTC_SHARD_LIST_H

typedef struct {
    char **paths;
    int n, cap;
} shard_list;

/* Appends the files of "a.bin,dir/": a directory contributes its `prefix`*.bin files
 * (e.g. "train-", "val-", or "" for all) in name order. -1 + err naming the path. */
int shard_list_expand(shard_list *l, const char *spec, const char *prefix);
void shard_list_free(shard_list *l);

#endif
