/* cmd_info.c — `bertc info FILE...`: print the header of a token shard or a
 * safetensors file (told apart by the shard magic). */
#include <stdio.h>
#include <string.h>

#include "../core/err.h"
#include "../data/shard.h"
#include "../io/safetensors.h"
#include "cli.h"

static const char *usage =
    "usage: bertc info FILE...\n"
    "\n"
    "Prints the header of each token shard (.bin from `bertc tokenize`; the\n"
    "checksum and token ids are verified) or safetensors file. Exits 1 if any\n"
    "file is unreadable or corrupt.\n";

static int is_shard(const char *path) {
    char magic[8] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp) return 0;
    size_t got = fread(magic, 1, sizeof magic, fp);
    fclose(fp);
    return got == sizeof magic && memcmp(magic, SHARD_MAGIC, sizeof magic) == 0;
}

int cmd_info(int argc, char **argv) {
    int failed = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1]) return cli_fail("info", "unknown option '%s' (see --help)", argv[i]);
        files++;
        int rc = is_shard(argv[i]) ? shard_info_print(argv[i], stdout) : st_info_print(argv[i], stdout);
        if (rc != 0) {
            fprintf(stderr, "bertc info: %s\n", err_msg());
            failed = 1;
        }
    }
    if (!files) return cli_fail("info", "no file given (see --help)");
    return failed;
}
