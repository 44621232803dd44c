/* cmd_encode.c — `bertc encode` (being written). */
#include "cli.h"

int cmd_encode(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("encode", "not implemented yet");
}
