#include "cli.h"
int cli_connect(int argc, char **argv) { (void)argc; (void)argv; return CLI_USAGE; }
