/*
 * cli.h — the command line: `dealerbot [-c FILE] COMMAND [ARGS]` (DESIGN.md, Command line).
 * Exit codes: 0 success, 1 a user error (one line on stderr), 2 a usage error.
 */
#ifndef DEALERBOT_CLI_H
#define DEALERBOT_CLI_H

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Parses argv and runs the command. `revision` is the source revision the binary was built
 * from ("a1b2c3d4e5f6", "...-dirty" or "unknown"), printed by --version. Returns the process
 * exit code. */
int cli_main(int argc, char **argv, const char *revision);

#endif
