/*
 * main.c — the entry point: everything is in the command line module (src/cli/). The source
 * revision comes from revision.h, which the build writes (cmake/revision.cmake).
 */
#include "dealerbot/cli.h"

#include "revision.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv, DBOT_REVISION);
}
