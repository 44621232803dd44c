/* cmd_vocab.c — `bertc vocab` (being written). */
#include "cli.h"

int cmd_vocab(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("vocab", "not implemented yet");
}
