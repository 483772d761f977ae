/*
 * main.c — the entry point: everything is in the command line module (src/cli/).
 */
#include "dealerbot/cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
